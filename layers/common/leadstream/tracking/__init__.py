"""Tracking: the Segment-compatible API, intake rules (batch, Do-Not-Track, user agent, bots, privacy),
attribution, forms and e-mail links, and the behaviour events they store."""
