"""One module per benchmark, each with `run(ctx: Context) -> Section` (see bench.runner)."""
