"""Logger, metrics and tracer, created once. Never log personal data: ids and counts only."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics(namespace="Leadstream")
tracer = Tracer()
