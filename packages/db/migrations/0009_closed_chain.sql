-- The running chain of the closed-trades rollup (docs/decisions/0018-one-pass-over-the-rollups.md).
--
-- performance_metrics chains every hour of snapboard_closed_hours in order (max drawdown is a fall of
-- the running total over all of history): ~6 ms of numeric window arithmetic at 1,400 hours, the
-- longest part of a change set's read of the rollups, for the one or two hours a trade close changed.
-- The chain keeps, for each hour of the rollup, the summary of every hour up to and including it, in
-- the rollup's own shape: a run of hours summarizes exactly as a run of trades does (counts and sums,
-- best and worst, and the run's running total with its highest and lowest points and largest fall,
-- all from 0), so a reader chains the last summary before the first unfolded hour with the hours
-- after it, and gets what chaining every hour gives.
--
-- A trigger on the rollup keeps the chain: whoever writes snapboard_closed_hours (the fold of any
-- version, a hand fix), the chain from the first hour written on is rewritten in the same statement's
-- transaction, so in every snapshot the two agree.

CREATE TABLE IF NOT EXISTS snapboard_closed_chain (LIKE snapboard_closed_hours INCLUDING ALL);

-- The chain from `from_hour` on: the summary just before it, then every hour of the rollup from it on.
CREATE OR REPLACE FUNCTION snapboard_closed_chain_from(from_hour timestamptz)
RETURNS SETOF snapboard_closed_chain
LANGUAGE sql STABLE AS $$
  WITH runs AS (
    (SELECT * FROM snapboard_closed_chain WHERE hour < from_hour ORDER BY hour DESC LIMIT 1)
    UNION ALL
    SELECT * FROM snapboard_closed_hours WHERE hour >= from_hour
  ),
  totals AS (
    SELECT *, sum(pnl) OVER upto - pnl AS before
    FROM runs
    WINDOW upto AS (ORDER BY hour ROWS UNBOUNDED PRECEDING)
  ),
  peaks AS (
    SELECT *, greatest(0, coalesce(max(before + peak) OVER prior, 0)) AS peak_before
    FROM totals
    WINDOW prior AS (ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  ),
  chained AS (
    SELECT hour,
           (sum(trades) OVER upto)::bigint AS trades,
           (sum(wins) OVER upto)::bigint AS wins,
           (sum(losses) OVER upto)::bigint AS losses,
           sum(profit) OVER upto AS profit,
           sum(loss) OVER upto AS loss,
           max(best) OVER upto AS best,
           min(worst) OVER upto AS worst,
           sum(duration_seconds) OVER upto AS duration_seconds,
           (sum(duration_trades) OVER upto)::bigint AS duration_trades,
           before + pnl AS pnl,
           greatest(peak_before, before + peak) AS peak,
           least(0, min(before + trough) OVER upto) AS trough,
           max(greatest(drawdown, peak_before - (before + trough))) OVER upto AS drawdown
    FROM peaks
    WINDOW upto AS (ORDER BY hour ROWS UNBOUNDED PRECEDING)
  )
  SELECT * FROM chained WHERE hour >= from_hour
$$;

CREATE OR REPLACE FUNCTION snapboard_closed_chain_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  from_hour timestamptz;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM snapboard_closed_chain;
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT min(hour) INTO from_hour FROM new_hours;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT min(hour) INTO from_hour FROM old_hours;
  ELSE
    SELECT min(hour) INTO from_hour FROM (SELECT hour FROM old_hours UNION ALL SELECT hour FROM new_hours) h;
  END IF;
  IF from_hour IS NOT NULL THEN
    DELETE FROM snapboard_closed_chain WHERE hour >= from_hour;
    INSERT INTO snapboard_closed_chain SELECT * FROM snapboard_closed_chain_from(from_hour);
  END IF;
  RETURN NULL;
END;
$$;
-- Short queries, costed high for the full rebuild they may do (as migration 0005 says of the fold).
ALTER FUNCTION snapboard_closed_chain_follow() SET jit = off;

DROP TRIGGER IF EXISTS snapboard_closed_chain_insert ON snapboard_closed_hours;
CREATE TRIGGER snapboard_closed_chain_insert AFTER INSERT ON snapboard_closed_hours
  REFERENCING NEW TABLE AS new_hours FOR EACH STATEMENT EXECUTE FUNCTION snapboard_closed_chain_follow();
DROP TRIGGER IF EXISTS snapboard_closed_chain_update ON snapboard_closed_hours;
CREATE TRIGGER snapboard_closed_chain_update AFTER UPDATE ON snapboard_closed_hours
  REFERENCING OLD TABLE AS old_hours NEW TABLE AS new_hours FOR EACH STATEMENT EXECUTE FUNCTION snapboard_closed_chain_follow();
DROP TRIGGER IF EXISTS snapboard_closed_chain_delete ON snapboard_closed_hours;
CREATE TRIGGER snapboard_closed_chain_delete AFTER DELETE ON snapboard_closed_hours
  REFERENCING OLD TABLE AS old_hours FOR EACH STATEMENT EXECUTE FUNCTION snapboard_closed_chain_follow();
DROP TRIGGER IF EXISTS snapboard_closed_chain_truncate ON snapboard_closed_hours;
CREATE TRIGGER snapboard_closed_chain_truncate AFTER TRUNCATE ON snapboard_closed_hours
  FOR EACH STATEMENT EXECUTE FUNCTION snapboard_closed_chain_follow();

-- The chain of what is folded now, taking turns with the fold (its lock, migration 0004): a fold
-- waiting meanwhile writes after this, through the trigger.
SELECT pg_advisory_xact_lock(7231004119);
DELETE FROM snapboard_closed_chain;
INSERT INTO snapboard_closed_chain SELECT * FROM snapboard_closed_chain_from('-infinity');
