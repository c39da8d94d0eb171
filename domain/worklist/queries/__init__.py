"""SQL of the worklist, one module per concern. Every statement is set-based: a rule run, an
assignment round, a timeout sweep is one statement however many tasks it touches."""
