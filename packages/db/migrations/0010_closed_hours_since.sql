-- The closed rollup as of the reader's snapshot, from an hour on (docs/decisions/0022).
--
-- A change set's read of the rollups (apps/worker/src/sections/history.ts) needs the closed hours
-- after the chain's start (migration 0009: every hour up to it is summarized there) and the last
-- day's hours (lite), a few dozen; snapboard_closed_hours_current() returned every hour there is
-- (1,405 on the bench's data) and the statement filtered them afterwards: 2–3 ms of the set's longest
-- query. The same answer, restricted to hour >= since: the folded hours through the primary key, the
-- hours a marker says changed recomputed as before. A NULL `since` means every hour.
CREATE OR REPLACE FUNCTION snapboard_closed_hours_current(since timestamptz) RETURNS SETOF snapboard_closed_hours
LANGUAGE plpgsql STABLE AS $$
DECLARE
  from_hour timestamptz := coalesce(since, '-infinity');
  all_hours boolean;
  hours timestamptz[];
BEGIN
  SELECT coalesce(bool_or(hour IS NULL), false),
         array_agg(DISTINCT hour) FILTER (WHERE hour IS NOT NULL AND hour >= from_hour)
    INTO all_hours, hours
    FROM snapboard_dirty_hours WHERE rollup = 'closed';
  IF all_hours THEN
    RETURN QUERY SELECT * FROM snapboard_closed_hour_stats(NULL) s WHERE s.hour >= from_hour;
  ELSIF hours IS NULL THEN
    RETURN QUERY SELECT * FROM snapboard_closed_hours h WHERE h.hour >= from_hour;
  ELSE
    RETURN QUERY SELECT * FROM snapboard_closed_hours h WHERE h.hour >= from_hour AND h.hour <> ALL (hours)
      UNION ALL SELECT * FROM snapboard_closed_hour_stats(hours);
  END IF;
END;
$$;

ALTER FUNCTION snapboard_closed_hours_current(timestamptz) SET jit = off;
