"""Privacy: what is held about a person (export), erasing it, and suppressing their identifiers afterwards."""
