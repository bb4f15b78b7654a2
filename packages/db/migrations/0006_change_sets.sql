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
CREATE OR REPLACE FUNCTION snapboard_closed_hours_current() RETURNS SETOF snapboard_closed_hours
LANGUAGE sql STABLE AS $$
  WITH m AS (SELECT hour FROM snapboard_dirty_hours WHERE rollup = 'closed'),
  f AS (
    SELECT EXISTS (SELECT 1 FROM m WHERE hour IS NULL) AS all_hours,
           ARRAY(SELECT DISTINCT hour FROM m WHERE hour IS NOT NULL) AS hours
  )
  SELECT r.* FROM snapboard_closed_hours r, f WHERE NOT f.all_hours AND r.hour <> ALL (f.hours)
  UNION ALL
  SELECT s.* FROM f CROSS JOIN LATERAL snapboard_closed_hour_stats(CASE WHEN f.all_hours THEN NULL ELSE f.hours END) s
  WHERE f.all_hours OR cardinality(f.hours) > 0
$$;

CREATE OR REPLACE FUNCTION snapboard_created_hours_current() RETURNS SETOF snapboard_created_hours
LANGUAGE sql STABLE AS $$
  WITH m AS (SELECT hour FROM snapboard_dirty_hours WHERE rollup = 'created'),
  f AS (
    SELECT EXISTS (SELECT 1 FROM m WHERE hour IS NULL) AS all_hours,
           ARRAY(SELECT DISTINCT hour FROM m WHERE hour IS NOT NULL) AS hours
  )
  SELECT r.* FROM snapboard_created_hours r, f WHERE NOT f.all_hours AND r.hour <> ALL (f.hours)
  UNION ALL
  SELECT s.* FROM f CROSS JOIN LATERAL snapboard_created_hour_stats(CASE WHEN f.all_hours THEN NULL ELSE f.hours END) s
  WHERE f.all_hours OR cardinality(f.hours) > 0
$$;

ALTER FUNCTION snapboard_closed_hours_current() SET jit = off;
ALTER FUNCTION snapboard_created_hours_current() SET jit = off;
