"""Leads for the web app's browser tests, made as visitors make them: through the runner's real tracking
API (a page view, then the demo-request form: a hand-raiser, scored to SQL and handed to sales)."""

import json
from urllib.parse import urlencode

from leadstream.identity.identifiers import device_lead, identifiers

from local.runner import DEMO_WRITE_KEY
from tests.pipeline.harness import Runner


def demo_request(
    run: Runner,
    anonymous_id: str,
    *,
    email: str,
    name: str = "Jane Doe",
    page_title: str = "Pricing",
    phone: str | None = "+44 20 7946 0000",
    company: str = "Acme",
) -> str:
    """A visitor reads the pricing page (its title as the browser reports it), then requests a demo; the
    lead its events are recorded on. Nothing is waited for: the pipeline takes it from here."""
    page = {
        "type": "page",
        "anonymousId": anonymous_id,
        "messageId": f"pricing-{anonymous_id}",
        "context": {
            "page": {
                "path": "/demo/pricing.html",
                "url": f"{run.base}/demo/pricing.html",
                "title": page_title,
            }
        },
        "properties": {"title": page_title},
        "writeKey": DEMO_WRITE_KEY,
    }
    assert run.post("/v1/p", json.dumps(page).encode(), "text/plain", auth=False) == 200
    fields = {"name": name, "email": email, "company": company, "title": "Head of Sales"}
    if phone:
        fields["phone"] = phone
    form = urlencode({**fields, "anonymousId": anonymous_id}).encode()
    assert run.post("/v1/forms/demo-request", form, "application/x-www-form-urlencoded") in (200, 303)
    return device_lead(identifiers(anonymous_id, None, None))
