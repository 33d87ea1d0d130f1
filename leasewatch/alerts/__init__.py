"""Chat alerts: pure level transitions, one payload module per webhook format, delivery."""
