"""Lead scoring: the model (YAML + schema), the score arithmetic, replay guards, the stream batch and
the outbox."""
