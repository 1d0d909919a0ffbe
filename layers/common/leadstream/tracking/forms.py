"""Form submissions: from a plain HTML <form> (urlencoded, then a redirect) or from JavaScript (JSON).

The rules: a form id is a short slug; a plain form's browser is sent back only ever to one of the source's
own origins (never an open redirect); with no page to go back to, the caller shows its own thank-you page.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

from leadstream.platform.errors import BadRequest
from leadstream.platform.http import RequestFacts, json_object
from leadstream.sources.directory import SourceDirectory
from leadstream.sources.model import Source
from leadstream.tracking.ingest import Ingest, Request
from leadstream.tracking.segment import FormSubmission

FORM_ENCODED = "application/x-www-form-urlencoded"
MAX_FORM_ID = 64


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_form_id(form_id: str) -> None:
    if not form_id.replace("-", "").replace("_", "").isalnum() or len(form_id) > MAX_FORM_ID:
        raise BadRequest(f"form id may only contain letters, digits, '-' and '_' (at most {MAX_FORM_ID})")


def thank_you_url(requested: str | None, page: str | None, source: Source) -> str | None:
    """Where to send the browser after a plain form post: only ever to one of the source's origins.

    `page` is the form's page (Referer, else Origin): a relative `_next` is resolved against it.
    None means "no known page to go to": the caller answers with its own thank-you page.
    """
    try:
        if requested and not urlsplit(requested).scheme and not page:
            return None
        target = urljoin(page, requested) if requested and page else requested or page
        if not target:
            return None
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises ValueError for a malformed host or port
    except ValueError as exc:
        raise BadRequest("the thank-you URL (_next) is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest("the thank-you URL (_next) must be an http(s) URL")
    if not source.allows_origin(_origin(target)):
        raise BadRequest(f"the thank-you URL (_next) is not on an allowed origin: {_origin(target)}")
    return target


@dataclass(frozen=True)
class Submitted:
    stored: bool  # False: a retry of a submission already stored
    html_form: bool  # a plain HTML form (answer with a page or a redirect), else JSON
    redirect: str | None  # where to send a plain form's browser; None: show the thank-you page


class Forms:
    def __init__(self, directory: SourceDirectory, ingest: Ingest) -> None:
        self.directory = directory
        self.ingest = ingest

    def submit(self, form_id: str, text: str, facts: RequestFacts) -> Submitted:
        check_form_id(form_id)
        html_form = facts.content_type == FORM_ENCODED
        fields = dict(parse_qsl(text, keep_blank_values=False)) if html_form else json_object(text)
        key = facts.write_key or fields.get("writeKey")
        source = self.directory.authenticate(str(key) if key else None, facts.origin, facts.received_at)
        submission = FormSubmission.model_validate(fields)
        redirect = (
            thank_you_url(submission.next, facts.referer or facts.origin, source) if html_form else None
        )
        recorded = self.ingest.form(form_id, submission, Request(source, facts.received_at, facts.source_ip))
        return Submitted(recorded.stored, html_form, redirect)
