-- The triggers snapboard puts on the bot's tables run with the rights of whoever migrated, not of the
-- writer (docs/decisions/0024).
--
-- A trigger function runs with the privileges of the role whose statement fired it. The origin's bot
-- writes paper_trades and signals_paperaccount with its own role, which has no rights on snapboard's
-- tables: with these functions as they were, every trade it opened or closed failed with "permission
-- denied for table snapboard_change_log" once snapboard was installed. SECURITY DEFINER runs them as
-- their owner, the role that ran these migrations and owns the tables they write. The search_path is
-- pinned to the schema they were created in (pg_temp last), so a writer's own path cannot redirect them.
DO $$
DECLARE
  fn text;
BEGIN
  FOREACH fn IN ARRAY ARRAY[
    'snapboard_paper_trades_change()',
    'snapboard_notify_change()',
    'snapboard_mark_rows()',
    'snapboard_mark_all()'
  ] LOOP
    EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = %I, pg_temp', fn, current_schema());
  END LOOP;
END
$$;
