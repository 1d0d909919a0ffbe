"""Secrets (the link-signing key, the Slack webhook) from Secrets Manager, on the process's one client and
cached five minutes per container: a rotated secret takes effect within that time."""

from functools import cache

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from leadstream.platform import aws

MAX_AGE_SECONDS = 300


@cache
def _provider() -> SecretsProvider:
    return SecretsProvider(boto3_client=aws.client("secretsmanager"))


def secret(name: str) -> str:
    """The secret's value (`name` is its name or ARN)."""
    return str(_provider().get(name, max_age=MAX_AGE_SECONDS))


def forget() -> None:
    """Drop cached values (a new container starts with none)."""
    _provider().clear_cache()
