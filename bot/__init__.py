"""Composition root: settings, engines and clients, the CLI, the web server and the scheduler."""
