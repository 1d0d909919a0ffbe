"""Pure domain logic: no AWS, no environment, no I/O."""
