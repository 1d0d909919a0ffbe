"""One botocore session and one client per AWS service for the whole process.

A client costs tens of milliseconds to create (service model, endpoint rules); each botocore session
loads those afresh. Every function creates the clients it needs once, at init (SnapStart-friendly), and
everything in the process shares them: PynamoDB's models, Powertools' idempotency and parameters.
"""

from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

# As PynamoDB configures its own clients: no client-side parameter validation (the service validates),
# standard retry mode with a small, bounded number of attempts so a throttled request fails fast and the
# caller (HTTP client, stream, bus) retries with its own backoff.
_CONFIG = Config(
    parameter_validation=False,
    retries={"total_max_attempts": 3, "mode": "standard"},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=32,  # ScoreFunction writes a batch's leads in parallel
)


@cache
def session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def client(service: str) -> Any:
    """The process's client for `service`, in the region and endpoint the environment names (botocore
    reads AWS_REGION and AWS_ENDPOINT_URL as Lambda, `make run` and the tests set them)."""
    return session().create_client(service, config=_CONFIG)
