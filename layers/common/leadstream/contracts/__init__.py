"""Models at the boundaries: what comes in over HTTP and what goes out on the bus."""
