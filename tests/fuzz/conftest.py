"""The fuzz suite drives the routed handlers in-process against moto, as the integration tests do, with
their fixtures."""

from tests.integration.conftest import (  # noqa: F401 - fixtures, found by pytest under these names
    aws,
    email_links,
    form,
    leads_table,
    moto_endpoint,
    notifications_file,
    stack,
    track,
)
