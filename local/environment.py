"""What a function's process gets on top of its template environment, in every local setting.

Lambda provides a region, credentials and its own variables; locally, the runner (`make run`), the
tests and the bench add the same things here, in one place, instead of each writing its own list.
"""

from pathlib import Path

REGION = "eu-west-1"


def local_overrides(
    *,
    region: str = REGION,
    log_level: str = "WARNING",
    tracing: bool = False,
    metrics: bool = False,
    notifications_file: Path | None = None,
) -> dict[str, str]:
    """Environment for a function run outside Lambda against the local AWS (moto accepts any credentials).

    `tracing`/`metrics` False switch Powertools' X-Ray tracer and CloudWatch metrics off (nobody receives
    them locally); the bench turns tracing on to measure a function as it is deployed.
    """
    env = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_LOG_LEVEL": log_level,
    }
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    if not metrics:
        env["POWERTOOLS_METRICS_DISABLED"] = "true"
    if notifications_file is not None:
        env["NOTIFICATIONS_FILE"] = str(notifications_file)
    return env
