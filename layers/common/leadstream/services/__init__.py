"""Use cases: each takes its collaborators (repository, publisher, channels) as arguments."""
