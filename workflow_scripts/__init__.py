"""seq2reg stage modules: one importable module per pipeline stage, each with a thin CLI."""
