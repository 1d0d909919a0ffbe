"""Adapters to the outside: EventBridge, Slack, SNS, files."""
