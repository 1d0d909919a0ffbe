"""Notifications: telling sales, in words a phone screen shows well, through file, Slack or SNS."""
