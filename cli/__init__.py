"""The `qa` command: the outermost layer, beside nothing and above `api/` (`qa serve` runs the app)."""
