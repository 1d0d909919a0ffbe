"""Predictive scoring: a likelihood to close learnt from the customer's own outcomes (the archive), kept as
a small human-readable artifact and evaluated in plain Python."""
