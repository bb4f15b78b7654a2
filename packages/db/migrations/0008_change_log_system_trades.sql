-- Change sets, faster (docs/decisions/0009-change-sets.md): the change log says whether a statement
-- on paper_trades touched a system trade (user_id IS NULL). The bot_* sections (SPEC §11) are computed
-- from system trades alone and are a set's longest queries; a close of a user's trade cannot move
-- them, so a set leaves them out when its snapshot shows no such change. A row that cannot tell
-- (another table, a TRUNCATE, a row written before this migration) says true: never left out wrongly.
ALTER TABLE snapboard_change_log ADD COLUMN IF NOT EXISTS system boolean NOT NULL DEFAULT true;

-- One function for the three row events; each trigger names only the transition tables its event
-- has, and PL/pgSQL plans a statement only when it first runs, so each branch reads only its own.
CREATE OR REPLACE FUNCTION snapboard_paper_trades_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  touched boolean;
BEGIN
  IF TG_OP = 'INSERT' THEN
    touched := EXISTS (SELECT 1 FROM new_rows WHERE user_id IS NULL);
  ELSIF TG_OP = 'UPDATE' THEN
    touched := EXISTS (SELECT 1 FROM old_rows WHERE user_id IS NULL)
            OR EXISTS (SELECT 1 FROM new_rows WHERE user_id IS NULL);
  ELSE
    touched := EXISTS (SELECT 1 FROM old_rows WHERE user_id IS NULL);
  END IF;
  INSERT INTO snapboard_change_log (tbl, system) VALUES (TG_TABLE_NAME, touched);
  PERFORM pg_notify('snapboard_changes', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS snapboard_paper_trades_changed ON paper_trades;
DROP TRIGGER IF EXISTS snapboard_paper_trades_changed_insert ON paper_trades;
DROP TRIGGER IF EXISTS snapboard_paper_trades_changed_update ON paper_trades;
DROP TRIGGER IF EXISTS snapboard_paper_trades_changed_delete ON paper_trades;
DROP TRIGGER IF EXISTS snapboard_paper_trades_changed_truncate ON paper_trades;
CREATE TRIGGER snapboard_paper_trades_changed_insert AFTER INSERT ON paper_trades
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION snapboard_paper_trades_change();
CREATE TRIGGER snapboard_paper_trades_changed_update AFTER UPDATE ON paper_trades
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION snapboard_paper_trades_change();
CREATE TRIGGER snapboard_paper_trades_changed_delete AFTER DELETE ON paper_trades
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION snapboard_paper_trades_change();
CREATE TRIGGER snapboard_paper_trades_changed_truncate AFTER TRUNCATE ON paper_trades
  FOR EACH STATEMENT EXECUTE FUNCTION snapboard_notify_change();
