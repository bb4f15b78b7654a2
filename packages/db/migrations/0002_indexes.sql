-- snapboard's own indexes on the bot's tables: each section's query reads an index range, never the
-- whole history. Names carry the snapboard_ prefix so they never collide with the bot's (Django's) own.

CREATE INDEX IF NOT EXISTS snapboard_pt_status_created ON paper_trades (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS snapboard_pt_user_created ON paper_trades (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS snapboard_pt_market_status ON paper_trades (market_type, status);
CREATE INDEX IF NOT EXISTS snapboard_pt_status_exit ON paper_trades (status, exit_time DESC);
-- recent_trades: newest exit first (nulls last, ties by higher id) over every CLOSED_* status at once.
CREATE INDEX IF NOT EXISTS snapboard_pt_closed_exit ON paper_trades (exit_time DESC NULLS LAST, id DESC)
  WHERE status LIKE 'CLOSED%';
-- trading_stats windows count trades by created_at regardless of status.
CREATE INDEX IF NOT EXISTS snapboard_pt_created ON paper_trades (created_at);
