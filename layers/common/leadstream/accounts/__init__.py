"""Accounts: the organisations leads belong to (grouped by work e-mail domain or `group` calls)."""
