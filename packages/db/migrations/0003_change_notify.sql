-- Event-driven freshness (SPEC §5): any write to the bot's trades or accounts tells the worker at once.
-- One notification per statement, naming the table; NOTIFY folds identical payloads in a transaction.

CREATE OR REPLACE FUNCTION snapboard_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('snapboard_changes', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS snapboard_paper_trades_changed ON paper_trades;
CREATE TRIGGER snapboard_paper_trades_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON paper_trades
  FOR EACH STATEMENT EXECUTE FUNCTION snapboard_notify_change();

DROP TRIGGER IF EXISTS snapboard_paperaccount_changed ON signals_paperaccount;
CREATE TRIGGER snapboard_paperaccount_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signals_paperaccount
  FOR EACH STATEMENT EXECUTE FUNCTION snapboard_notify_change();
