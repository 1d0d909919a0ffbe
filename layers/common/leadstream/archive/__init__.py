"""The event archive (S3): every behaviour event, identity change and stage change, kept past the
tables' retention."""
