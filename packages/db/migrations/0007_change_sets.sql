-- Change sets (SPEC §10, docs/decisions/0009-change-sets.md).
--
-- 1. A change log the worker reads *inside* a set's snapshot: which of the bot's tables changed
--    between the previous set's snapshot and this one. NOTIFY only wakes the worker; the set's members
--    come from what its own snapshot shows, so a set can never hold a section from a newer database
--    state than its neighbours, whatever order notifications and ticks arrive in. Append-only, one row
--    per statement (the same cost class as the NOTIFY trigger); xid is the writing transaction, which
--    pg_visible_in_snapshot compares with the previous set's snapshot exactly.
CREATE TABLE IF NOT EXISTS snapboard_change_log (
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  tbl text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS snapboard_change_log_xid ON snapboard_change_log (xid);
CREATE INDEX IF NOT EXISTS snapboard_change_log_at ON snapboard_change_log (at);

CREATE OR REPLACE FUNCTION snapboard_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO snapboard_change_log (tbl) VALUES (TG_TABLE_NAME);
  PERFORM pg_notify('snapboard_changes', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;

-- 2. The rollups as of the reader's own snapshot: the folded hours, except those a marker visible in
--    that snapshot says changed, which are recomputed from the trades of the same snapshot. Read-only,
--    so it runs inside a set's READ ONLY transaction (and on a replica); folding stays a separate write.
--    PL/pgSQL so that the usual case (no marker: the fold ran just before) is a plain read of the
--    rollup, without planning the recompute (planning it each call cost ~10 ms).
CREATE OR REPLACE FUNCTION snapboard_closed_hours_current() RETURNS SETOF snapboard_closed_hours
LANGUAGE plpgsql STABLE AS $$
DECLARE
  all_hours boolean;
  hours timestamptz[];
BEGIN
  SELECT coalesce(bool_or(hour IS NULL), false), array_agg(DISTINCT hour) FILTER (WHERE hour IS NOT NULL)
    INTO all_hours, hours
    FROM snapboard_dirty_hours WHERE rollup = 'closed';
  IF all_hours THEN
    RETURN QUERY SELECT * FROM snapboard_closed_hour_stats(NULL);
  ELSIF hours IS NULL THEN
    RETURN QUERY SELECT * FROM snapboard_closed_hours;
  ELSE
    RETURN QUERY SELECT * FROM snapboard_closed_hours WHERE hour <> ALL (hours)
      UNION ALL SELECT * FROM snapboard_closed_hour_stats(hours);
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION snapboard_created_hours_current() RETURNS SETOF snapboard_created_hours
LANGUAGE plpgsql STABLE AS $$
DECLARE
  all_hours boolean;
  hours timestamptz[];
BEGIN
  SELECT coalesce(bool_or(hour IS NULL), false), array_agg(DISTINCT hour) FILTER (WHERE hour IS NOT NULL)
    INTO all_hours, hours
    FROM snapboard_dirty_hours WHERE rollup = 'created';
  IF all_hours THEN
    RETURN QUERY SELECT * FROM snapboard_created_hour_stats(NULL);
  ELSIF hours IS NULL THEN
    RETURN QUERY SELECT * FROM snapboard_created_hours;
  ELSE
    RETURN QUERY SELECT * FROM snapboard_created_hours WHERE hour <> ALL (hours)
      UNION ALL SELECT * FROM snapboard_created_hour_stats(hours);
  END IF;
END;
$$;

ALTER FUNCTION snapboard_closed_hours_current() SET jit = off;
ALTER FUNCTION snapboard_created_hours_current() SET jit = off;
