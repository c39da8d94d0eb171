"""Recoup's web process: the Litestar app, its settings, auth, REST controllers and the CLI."""
