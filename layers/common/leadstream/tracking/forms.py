"""Form submissions: from a plain HTML <form> (urlencoded, then a redirect) or from JavaScript (JSON).

The rules: a form id is a short slug; a plain form's browser is sent back only ever to one of the source's
own origins (never an open redirect), to a URL we parsed and wrote again ourselves; with no page to go back
to, the caller shows its own thank-you page. A bot (a crawler's user agent, or the hidden honeypot field
filled in) is answered as a person would be, so it learns nothing, but is only counted. A source takes at
most FORMS_PER_MINUTE submissions a minute, far more than people send: beyond it, 429 until the next minute.
Counting (bots, the rate) is a side concern: when the counter fails, the submission still goes through.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from leadstream.platform.errors import BadRequest, StoreUnavailable
from leadstream.platform.http import RequestFacts, json_object, location
from leadstream.platform.observability import logger
from leadstream.sources.directory import SourceDirectory
from leadstream.sources.model import Source
from leadstream.sources.repository import SourceRepository
from leadstream.tracking.bots import is_bot
from leadstream.tracking.ingest import Ingest, Request
from leadstream.tracking.segment import MAX_MESSAGE_DEPTH, FormSubmission

FORM_ENCODED = "application/x-www-form-urlencoded"
MAX_FORM_ID = 64
# A field people never see (hide it with CSS, e.g. <input name="_hp" tabindex="-1" autocomplete="off"
# style="display:none">): form-filling bots fill it in, people leave it empty.
HONEYPOT = "_hp"
FORMS_PER_MINUTE = 120  # per source: a site's visitors together, not one person, would need to exceed it


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_form_id(form_id: str) -> None:
    if not form_id.replace("-", "").replace("_", "").isalnum() or len(form_id) > MAX_FORM_ID:
        raise BadRequest(f"form id may only contain letters, digits, '-' and '_' (at most {MAX_FORM_ID})")


def thank_you_url(requested: str | None, page: str | None, source: Source) -> str | None:
    """Where to send the browser after a plain form post: only ever to one of the source's origins, and
    only as a URL parsed and written again (`platform.http.location`), never the text as it came.

    `page` is the form's page (Referer, else Origin): a relative `_next` is resolved against it.
    None means "no known page to go to": the caller answers with its own thank-you page.
    """
    try:
        if requested and not urlsplit(requested).scheme and not page:
            return None
        target = urljoin(page, requested) if requested and page else requested or page
    except ValueError as exc:
        raise BadRequest("the thank-you URL (_next) is not a valid URL") from exc
    if not target:
        return None
    try:
        safe = location(target)
    except BadRequest as exc:
        raise BadRequest(f"the thank-you URL (_next) is not usable: {exc}") from exc
    if not source.allows_origin(_origin(safe)):
        raise BadRequest(f"the thank-you URL (_next) is not on an allowed origin: {_origin(safe)}")
    return safe


def is_bot_submission(fields: dict[str, Any], facts: RequestFacts) -> bool:
    """A crawler's browser (its user agent), or the honeypot field filled in."""
    return is_bot(facts.user_agent) or bool(fields.get(HONEYPOT))


@dataclass(frozen=True)
class Submitted:
    stored: bool  # False: a retry of a submission already stored, a bot, or over the rate limit
    html_form: bool  # a plain HTML form (answer with a page or a redirect), else JSON
    redirect: str | None  # where to send a plain form's browser; None: show the thank-you page
    bot: bool = False  # answered as a success, only counted
    retry_after: int | None = None  # over the source's rate limit: seconds until the next minute
    uncounted: bool = False  # a counter (bots, rate) was unavailable; the submission went on regardless


class Forms:
    def __init__(self, directory: SourceDirectory, sources: SourceRepository, ingest: Ingest) -> None:
        self.directory = directory
        self.sources = sources
        self.ingest = ingest

    def submit(self, form_id: str, text: str, facts: RequestFacts) -> Submitted:
        check_form_id(form_id)
        html_form = facts.content_type == FORM_ENCODED
        fields: dict[str, Any] = (
            dict(parse_qsl(text, keep_blank_values=False))
            if html_form
            else json_object(text, max_depth=MAX_MESSAGE_DEPTH)
        )
        given = fields.get("writeKey")
        key = facts.write_key or (given if isinstance(given, str) else None)
        source = self.directory.authenticate(key, facts.origin, facts.received_at)
        if is_bot_submission(fields, facts):
            return self._bot(source, fields, html_form, facts)
        submission = FormSubmission.model_validate(fields)
        redirect = (
            thank_you_url(submission.next, facts.referer or facts.origin, source) if html_form else None
        )
        count = self._count(source, facts.received_at)
        if count is not None and count > FORMS_PER_MINUTE:
            logger.warning("form rate limit reached", source_id=source.id, count=count)
            return Submitted(False, html_form, None, retry_after=60 - facts.received_at.second)
        req = Request(source, facts.received_at, facts.source_ip, browser=facts.origin is not None)
        recorded = self.ingest.form(form_id, submission, req)
        return Submitted(recorded.stored, html_form, redirect, uncounted=count is None)

    def _count(self, source: Source, now: datetime) -> int | None:
        """This minute's submissions of the source so far, with this one; None if the counter failed."""
        try:
            return self.sources.count_form(source.id, now.replace(second=0, microsecond=0))
        except StoreUnavailable as exc:
            logger.warning("form submissions not counted", source_id=source.id, reason=str(exc))
            return None

    def _bot(self, source: Source, fields: dict[str, Any], html_form: bool, facts: RequestFacts) -> Submitted:
        """Counted, not stored, and answered as a person would be (where a person would go, if anywhere)."""
        uncounted = False
        try:
            self.sources.count_bots(source.id, facts.received_at.date(), 1)
        except StoreUnavailable as exc:
            logger.warning("bot hits not counted", source_id=source.id, hits=1, reason=str(exc))
            uncounted = True
        requested = fields.get("_next")
        redirect = None
        if html_form:
            try:
                page = facts.referer or facts.origin
                redirect = thank_you_url(requested if isinstance(requested, str) else None, page, source)
            except BadRequest:
                redirect = None
        return Submitted(False, html_form, redirect, bot=True, uncounted=uncounted)
