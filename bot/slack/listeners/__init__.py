"""Bolt listeners, one module per Slack surface, each with a `register(app, ...)`."""
