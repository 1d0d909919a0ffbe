"""Logger, metrics and tracer, created once. Never log personal data: ids and counts only.

Tracing: the template turns on Lambda's active tracing for every function (each invocation is a trace
segment, with its init time). The X-Ray SDK adds a subsegment per AWS call, at the price of loading
it (and patching botocore) in every cold start, ~45 ms: it is on only when the stack's TraceAwsCalls
parameter says so (POWERTOOLS_TRACE_DISABLED false). Then only botocore is patched: Powertools'
default `patch_all` would import and patch a dozen libraries we do not use.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from leadstream.platform.settings import ObservabilitySettings

logger = Logger()
metrics = Metrics(namespace="Leadstream")


class Untraced:
    """Stands in for Powertools' Tracer when the X-Ray SDK is off: the handlers' decorators do nothing."""

    def capture_lambda_handler[F: Callable[..., Any]](self, handler: F) -> F:
        return handler


tracer: Tracer | Untraced = (
    Untraced() if ObservabilitySettings.from_env().trace_disabled else Tracer(patch_modules=("botocore",))
)
