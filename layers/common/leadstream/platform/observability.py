"""Logger, metrics and tracer, created once. Never log personal data: ids and counts only.

The tracer patches botocore only (every AWS call, PynamoDB's included, is a subsegment): Powertools'
default `patch_all` would import and patch a dozen libraries we do not use, at every cold start.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics(namespace="Leadstream")
tracer = Tracer(patch_modules=("botocore",))
