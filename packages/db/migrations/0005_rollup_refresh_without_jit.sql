-- The refresh's queries are costed with their full-rebuild branch (every trade), which the usual
-- path skips at run time; that estimate crosses jit_above_cost, and JIT compilation then took
-- ~100 ms of a ~20 ms refresh at 1M trades. These are short queries: no JIT for them.
ALTER FUNCTION snapboard_refresh_rollups() SET jit = off;
