"""Rendering an analysis: table (rich), JSON, CSV, Nagios."""
