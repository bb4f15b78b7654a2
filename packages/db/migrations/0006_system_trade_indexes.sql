-- The bot's own public API (SPEC §11) reads system trades (user_id IS NULL) only: the newest by
-- created_at (bot_trades) and the newest closes (bot_summary), each an index range in output order.
CREATE INDEX IF NOT EXISTS snapboard_pt_system_created ON paper_trades (created_at DESC NULLS LAST, id DESC)
  WHERE user_id IS NULL;
CREATE INDEX IF NOT EXISTS snapboard_pt_system_closed_exit ON paper_trades (exit_time DESC NULLS LAST, id DESC)
  WHERE user_id IS NULL AND status LIKE 'CLOSED%';
