-- Hourly rollups so that the sections over all history (performance_metrics, pnl_history, the
-- all-time and windowed counts of trading_stats, lite's daily_pnl) read a few thousand summary rows
-- instead of every trade. See docs/decisions/0002-hourly-rollups.md.
--
-- The bot's write path only appends "this hour changed" markers (statement triggers, no updates, so
-- no row locks and no deadlocks in the bot's transactions). The worker folds them in with
-- snapboard_refresh_rollups(), which recomputes each marked hour from paper_trades itself: results
-- stay exact whatever the bot does (updates, deletes, out-of-order closes, truncates).

-- UTC hour of a timestamp; `if_null` stands for a missing one so it still has a bucket.
CREATE OR REPLACE FUNCTION snapboard_hour(ts timestamptz, if_null timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', if_null)
$$;

-- Closed trades by the hour of exit_time (null exit_time: the 'infinity' bucket, which sorts last as
-- the metrics order them). peak / trough / drawdown describe the running sum of profit_loss inside
-- the hour, in (exit_time, id) order, starting from 0; the worker chains hours into the overall
-- max drawdown (a monoid: peak and trough of a concatenation follow from its parts).
CREATE TABLE IF NOT EXISTS snapboard_closed_hours (
  hour timestamptz PRIMARY KEY,
  trades bigint NOT NULL,
  wins bigint NOT NULL,
  losses bigint NOT NULL,
  profit numeric NOT NULL,
  loss numeric NOT NULL,
  best numeric,
  worst numeric,
  duration_seconds numeric NOT NULL,
  duration_trades bigint NOT NULL,
  pnl numeric NOT NULL,
  peak numeric NOT NULL,
  trough numeric NOT NULL,
  drawdown numeric NOT NULL
);

-- Every trade by the hour of created_at (null created_at: the '-infinity' bucket, outside every window).
CREATE TABLE IF NOT EXISTS snapboard_created_hours (
  hour timestamptz PRIMARY KEY,
  trades bigint NOT NULL,
  open_trades bigint NOT NULL,
  closed_trades bigint NOT NULL
);

-- Hours to recompute. hour NULL means "rebuild that whole rollup".
CREATE TABLE IF NOT EXISTS snapboard_dirty_hours (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rollup text NOT NULL CHECK (rollup IN ('closed', 'created')),
  hour timestamptz
);

CREATE OR REPLACE FUNCTION snapboard_mark_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO snapboard_dirty_hours (rollup, hour)
    SELECT 'closed', snapboard_hour(exit_time, 'infinity') FROM new_rows WHERE status LIKE 'CLOSED%'
    UNION
    SELECT 'created', snapboard_hour(created_at, '-infinity') FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO snapboard_dirty_hours (rollup, hour)
    SELECT 'closed', snapboard_hour(exit_time, 'infinity') FROM old_rows WHERE status LIKE 'CLOSED%'
    UNION
    SELECT 'created', snapboard_hour(created_at, '-infinity') FROM old_rows;
  ELSE
    -- Only rows whose rollup inputs changed; an id change shows up as an unmatched pair.
    INSERT INTO snapboard_dirty_hours (rollup, hour)
    WITH changed AS (
      SELECT o.id AS o_id, o.status AS o_status, o.exit_time AS o_exit, o.created_at AS o_created,
             n.id AS n_id, n.status AS n_status, n.exit_time AS n_exit, n.created_at AS n_created
      FROM old_rows o FULL JOIN new_rows n ON n.id = o.id
      WHERE o.id IS NULL OR n.id IS NULL
         OR (o.status, o.exit_time, o.entry_time, o.created_at, o.profit_loss)
            IS DISTINCT FROM (n.status, n.exit_time, n.entry_time, n.created_at, n.profit_loss)
    )
    SELECT 'closed', snapboard_hour(o_exit, 'infinity') FROM changed WHERE o_status LIKE 'CLOSED%'
    UNION
    SELECT 'closed', snapboard_hour(n_exit, 'infinity') FROM changed WHERE n_status LIKE 'CLOSED%'
    UNION
    SELECT 'created', snapboard_hour(o_created, '-infinity') FROM changed WHERE o_id IS NOT NULL
    UNION
    SELECT 'created', snapboard_hour(n_created, '-infinity') FROM changed WHERE n_id IS NOT NULL;
  END IF;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION snapboard_mark_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO snapboard_dirty_hours (rollup, hour) VALUES ('closed', NULL), ('created', NULL);
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS snapboard_rollup_insert ON paper_trades;
CREATE TRIGGER snapboard_rollup_insert AFTER INSERT ON paper_trades
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION snapboard_mark_rows();
DROP TRIGGER IF EXISTS snapboard_rollup_update ON paper_trades;
CREATE TRIGGER snapboard_rollup_update AFTER UPDATE ON paper_trades
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION snapboard_mark_rows();
DROP TRIGGER IF EXISTS snapboard_rollup_delete ON paper_trades;
CREATE TRIGGER snapboard_rollup_delete AFTER DELETE ON paper_trades
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION snapboard_mark_rows();
DROP TRIGGER IF EXISTS snapboard_rollup_truncate ON paper_trades;
CREATE TRIGGER snapboard_rollup_truncate AFTER TRUNCATE ON paper_trades
  FOR EACH STATEMENT EXECUTE FUNCTION snapboard_mark_all();

-- Statistics of closed trades per exit hour: for the given hours, or for all when `hours` is NULL.
CREATE OR REPLACE FUNCTION snapboard_closed_hour_stats(hours timestamptz[])
RETURNS SETOF snapboard_closed_hours
LANGUAGE sql STABLE AS $$
  WITH src AS (
    SELECT snapboard_hour(t.exit_time, 'infinity') AS hour, t.id, t.profit_loss, t.entry_time, t.exit_time
    FROM paper_trades t
    WHERE hours IS NULL AND t.status LIKE 'CLOSED%'
    UNION ALL
    SELECT h.hour, t.id, t.profit_loss, t.entry_time, t.exit_time
    FROM (SELECT DISTINCT unnest(hours) AS hour) h
    CROSS JOIN LATERAL (
      SELECT id, profit_loss, entry_time, exit_time FROM paper_trades
      WHERE isfinite(h.hour) AND status LIKE 'CLOSED%'
        AND exit_time >= h.hour AND exit_time < h.hour + interval '1 hour'
      UNION ALL
      SELECT id, profit_loss, entry_time, exit_time FROM paper_trades
      WHERE NOT isfinite(h.hour) AND status LIKE 'CLOSED%'
        AND (exit_time = h.hour OR (exit_time IS NULL AND h.hour = 'infinity'))
    ) t
  ),
  running AS (
    SELECT *, sum(coalesce(profit_loss, 0)) OVER w AS cum
    FROM src
    WINDOW w AS (PARTITION BY hour ORDER BY exit_time ASC NULLS LAST, id ASC ROWS UNBOUNDED PRECEDING)
  ),
  peaked AS (
    SELECT *, greatest(0, max(cum) OVER w) AS run_peak
    FROM running
    WINDOW w AS (PARTITION BY hour ORDER BY exit_time ASC NULLS LAST, id ASC ROWS UNBOUNDED PRECEDING)
  )
  SELECT
    hour,
    count(*),
    count(*) FILTER (WHERE profit_loss > 0),
    count(*) FILTER (WHERE profit_loss < 0),
    coalesce(sum(profit_loss) FILTER (WHERE profit_loss > 0), 0),
    coalesce(sum(profit_loss) FILTER (WHERE profit_loss < 0), 0),
    max(profit_loss),
    min(profit_loss),
    coalesce(sum(extract(epoch FROM exit_time - entry_time))
      FILTER (WHERE isfinite(exit_time) AND isfinite(entry_time)), 0),
    count(*) FILTER (WHERE isfinite(exit_time) AND isfinite(entry_time)),
    coalesce(sum(profit_loss), 0),
    greatest(0, max(cum)),
    least(0, min(cum)),
    max(run_peak - cum)
  FROM peaked
  GROUP BY hour
$$;

-- Counts of trades per created hour: for the given hours, or for all when `hours` is NULL.
CREATE OR REPLACE FUNCTION snapboard_created_hour_stats(hours timestamptz[])
RETURNS SETOF snapboard_created_hours
LANGUAGE sql STABLE AS $$
  WITH src AS (
    SELECT snapboard_hour(created_at, '-infinity') AS hour, status FROM paper_trades WHERE hours IS NULL
    UNION ALL
    SELECT h.hour, t.status
    FROM (SELECT DISTINCT unnest(hours) AS hour) h
    CROSS JOIN LATERAL (
      SELECT status FROM paper_trades
      WHERE isfinite(h.hour) AND created_at >= h.hour AND created_at < h.hour + interval '1 hour'
      UNION ALL
      SELECT status FROM paper_trades
      WHERE NOT isfinite(h.hour) AND (created_at = h.hour OR (created_at IS NULL AND h.hour = '-infinity'))
    ) t
  )
  SELECT hour, count(*), count(*) FILTER (WHERE status = 'OPEN'), count(*) FILTER (WHERE status LIKE 'CLOSED%')
  FROM src
  GROUP BY hour
$$;

-- Fold pending markers into the rollups; returns how many markers it consumed. Refreshes take turns
-- (advisory lock) so an older recompute never overwrites a newer one, and each one deletes exactly
-- the markers it read: a marker committed meanwhile waits for the next refresh.
CREATE OR REPLACE FUNCTION snapboard_refresh_rollups() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  marker_ids bigint[];
  closed_all boolean;
  created_all boolean;
  closed_hours timestamptz[];
  created_hours timestamptz[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM snapboard_dirty_hours) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(7231004119);
  SELECT array_agg(id),
         coalesce(bool_or(rollup = 'closed' AND hour IS NULL), false),
         coalesce(bool_or(rollup = 'created' AND hour IS NULL), false),
         array_agg(DISTINCT hour) FILTER (WHERE rollup = 'closed' AND hour IS NOT NULL),
         array_agg(DISTINCT hour) FILTER (WHERE rollup = 'created' AND hour IS NOT NULL)
    INTO marker_ids, closed_all, created_all, closed_hours, created_hours
    FROM snapboard_dirty_hours;
  IF marker_ids IS NULL THEN
    RETURN 0;
  END IF;
  -- Past a few hundred hours one pass over the table beats an index range per hour.
  IF closed_all OR cardinality(closed_hours) > 400 THEN
    DELETE FROM snapboard_closed_hours;
    INSERT INTO snapboard_closed_hours SELECT * FROM snapboard_closed_hour_stats(NULL);
  ELSIF closed_hours IS NOT NULL THEN
    DELETE FROM snapboard_closed_hours WHERE hour = ANY (closed_hours);
    INSERT INTO snapboard_closed_hours SELECT * FROM snapboard_closed_hour_stats(closed_hours);
  END IF;
  IF created_all OR cardinality(created_hours) > 400 THEN
    DELETE FROM snapboard_created_hours;
    INSERT INTO snapboard_created_hours SELECT * FROM snapboard_created_hour_stats(NULL);
  ELSIF created_hours IS NOT NULL THEN
    DELETE FROM snapboard_created_hours WHERE hour = ANY (created_hours);
    INSERT INTO snapboard_created_hours SELECT * FROM snapboard_created_hour_stats(created_hours);
  END IF;
  DELETE FROM snapboard_dirty_hours WHERE id = ANY (marker_ids);
  RETURN cardinality(marker_ids);
END;
$$;

-- Whatever the bot wrote before this migration: build both rollups on the first refresh.
INSERT INTO snapboard_dirty_hours (rollup, hour) VALUES ('closed', NULL), ('created', NULL);

-- open_positions: newest first with a missing created_at last, over the (few) open trades only.
CREATE INDEX IF NOT EXISTS snapboard_pt_open_created ON paper_trades (created_at DESC NULLS LAST, id DESC)
  WHERE status = 'OPEN';
-- top_performers: the first five by stored total_pnl.
CREATE INDEX IF NOT EXISTS snapboard_pa_total_pnl ON signals_paperaccount (total_pnl DESC NULLS LAST, user_id);
