"""Stand-ins for third-party services, served on loopback by the tests."""
