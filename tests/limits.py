"""Time limits in tests only guard against hangs: no test passes or fails on how fast the machine is, so each
limit is far above what the slowest machine needs (a 2-core machine running two copies of the suite)."""
HANG_GUARD_S = 1800
