"""Slack that acts: its interactivity requests (Accept / Reject on an SQL message), verified and mapped to
the sales actions, as the sales user with the same e-mail as the Slack user."""
