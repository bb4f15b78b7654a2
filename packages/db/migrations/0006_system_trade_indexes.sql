-- The bot's own public API (SPEC §11, docs/decisions/0010) reads system trades (user_id IS NULL) only.
-- Newest first by created_at: bot_trades reads the first 500 entries in output order, and the
-- included columns let bot_performance and bot_summary total every system trade from the index alone
-- (an index-only scan over the system trades, not a pass over every trade of every user).
CREATE INDEX IF NOT EXISTS snapboard_pt_system_created ON paper_trades (created_at DESC NULLS LAST, id DESC)
  INCLUDE (status, profit_loss, entry_time, exit_time)
  WHERE user_id IS NULL;
-- bot_summary's ten newest closes.
CREATE INDEX IF NOT EXISTS snapboard_pt_system_closed_exit ON paper_trades (exit_time DESC NULLS LAST, id DESC)
  WHERE user_id IS NULL AND status LIKE 'CLOSED%';
