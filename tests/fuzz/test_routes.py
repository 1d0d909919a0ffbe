"""Every HTTP route of template.yaml, driven with generated bodies, headers, keys, encodings and sizes, by
the handler it routes to (in-process, against moto, as the integration tests run them).

Whatever comes in: no 5xx; a 2xx or a redirect stored only well-formed items (every event readable as
ScoreFunction reads it, dated when it can be scored, no control, bidi or surrogate character in any stored
text); a 4xx stored nothing (a 429 only counts the attempt); and the good messages of a batch are stored
whatever else the batch holds.
"""

import base64
import contextlib
import importlib
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import event as note
from hypothesis import given, settings
from hypothesis import strategies as st
from leadstream.identity.repository import ProfileRepository
from leadstream.platform import aws as aws_clients
from leadstream.sources.directory import SourceAdmin
from leadstream.sources.model import Privacy
from leadstream.sources.repository import SourceRepository
from leadstream.tracking import email_links as links
from leadstream.tracking.events import EventType
from leadstream.tracking.repository import EventRepository
from leadstream.tracking.segment import BATCH_CALLS, EARLIEST, LIVE_HISTORY, SINGLE_CALLS, UNSAFE_TEXT

from local.authorizer import Authorized
from local.environment import REGION
from local.runner import STACK
from local.template import Route, Stack, load_stack
from tests.builders import LambdaContext, basic_auth, http_request, signed_in
from tests.fuzz import strategies as gen
from tests.integration.conftest import lead_of

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
CTX = LambdaContext()
IMPORT_KEY = "lsk_fuzz_importer"  # a source that may send history to /v1/import (see `importer`)
ROUTES = load_stack(STACK, REGION, {"StageName": "test"}, {}).routes  # read only: no AWS is touched


def kind(route: Route) -> str:
    """What a route takes, by its path (a new route fails here until the suite knows what to send it)."""
    last = route.path.rsplit("/", 1)[1]
    if route.method == "OPTIONS":
        return "preflight"
    if route.path.startswith("/api/leads/") and route.method == "POST":
        return "lead_action"
    if route.path.startswith("/api/leads/") or route.path == "/api/qualification":
        return "lead_card"
    if route.path in ("/api/leads", "/api/accounts", "/api/accounts/{domain}"):
        return "sales_list"
    if route.path in ("/api/openapi.json", "/api/docs"):
        return "api_document"
    if route.path.startswith("/api/reports/"):
        return "report"
    if route.path == "/slack/interactions":
        return "slack"
    if route.path in ("/app", "/app/{proxy+}"):
        return "web_file"
    if route.path.startswith("/v1/forms/"):
        return "form"
    if last in BATCH_CALLS:
        return "batch"
    if last in SINGLE_CALLS:
        return "single"
    return {"/v1/o.gif": "pixel", "/v1/c": "click", "/v1/lb.js": "snippet"}[route.path]


# Examples per route: about 40 s for the suite in `make test`. FUZZ_SCALE=10 for a deeper run.
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
EXAMPLES = {
    **{"single": 25, "batch": 50, "form": 120, "pixel": 40, "click": 40, "snippet": 10, "preflight": 40},
    **{"lead_card": 40, "api_document": 5, "lead_action": 40, "sales_list": 40, "report": 25, "slack": 40},
    "web_file": 40,
}


def test_every_route_of_the_template_is_fuzzed() -> None:
    assert {kind(route) for route in ROUTES} == set(EXAMPLES)
    assert len(ROUTES) >= 20


# --- building requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    event: dict[str, Any]
    history: bool = False  # /v1/import: events of any age since 1970 may be stored

    @property
    def received_at(self) -> datetime:
        return datetime.fromtimestamp(self.event["requestContext"]["timeEpoch"] / 1000, UTC)


def _text(body: bytes) -> str | None:
    """The body as the HTTP API hands it over: text when it is UTF-8 and not gzip, else (None) base64."""
    if body[:2] == b"\x1f\x8b":
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def request(
    route: Route,
    path: str,
    body: bytes,
    headers: dict[str, str],
    content_type: str,
    path_params: dict[str, str] | None = None,
    user: Authorized | None = None,
) -> dict[str, Any]:
    """The API Gateway (payload 2.0) event of a request, as the integration tests build them."""
    api_event = http_request(
        path,
        None,
        route=route.path,
        method=route.method,
        content_type=content_type,
        headers=headers,
        write_key=None,
        path_params=path_params,
        user=user,
    )
    if not content_type:
        del api_event["headers"]["content-type"]
    if body:
        text = _text(body)
        api_event["isBase64Encoded"] = text is None
        api_event["body"] = base64.b64encode(body).decode() if text is None else text
    return api_event


JUNK = st.one_of(
    st.sampled_from(["", "{not json", "[1, 2]", "null", '"text"', "{", '{"a":' * 6000, "\x00", "{}"]),
    st.text(max_size=40),
)


@dataclass(frozen=True)
class Wrapping:
    """How a body travels: its key, encoding and headers. Clean two times in three (a demo key, UTF-8 or
    gzip, a browser or no one at all), so that what is inside gets looked at; else anything."""

    key: str
    encoding: str
    headers: dict[str, str]
    content_type: str | None  # None: the request's own choice
    ensure_ascii: bool


@st.composite
def wrappings(draw: st.DrawFn) -> Wrapping:
    if not draw(gen.one_in(3)):
        return Wrapping(
            "demo",
            draw(st.sampled_from(gen.CLEAN_ENCODINGS)),
            draw(gen.clean_headers),
            None,
            draw(st.booleans()),
        )
    return Wrapping(
        draw(st.sampled_from(gen.KEYS)),
        draw(st.sampled_from(gen.ENCODINGS)),
        draw(gen.wild_headers),
        draw(gen.content_types),
        draw(st.booleans()),
    )


def send(
    route: Route,
    value: Any,
    wrapping: Wrapping,
    *,
    content_type: str = "application/json",
    path: str | None = None,
    auth_headers: dict[str, str] | None = None,
    form: bool = False,
    **kwargs: Any,
) -> Sent:
    key_headers, key_in_body = gen.auth(wrapping.key)
    if isinstance(value, dict) and key_in_body:
        value = {**value, "writeKey": key_in_body}
    if isinstance(value, str):
        text = value  # junk, sent as it is
    elif form:
        text = _urlencoded(value)
    else:
        text = gen.serialise(value, ensure_ascii=wrapping.ensure_ascii)
    body, encoding = gen.encode(text, wrapping.encoding)
    headers = {**wrapping.headers, **(auth_headers or key_headers), **encoding}
    api_event = request(
        route, path or route.path, body, headers, wrapping.content_type or content_type, **kwargs
    )
    return Sent(api_event, history=route.path.endswith("/import"))


@st.composite
def single_calls(draw: st.DrawFn, route: Route) -> Sent:
    call = SINGLE_CALLS[route.path.rsplit("/", 1)[1]]
    value: Any = draw(gen.mostly(gen.messages(call), st.one_of(gen.messages(), gen.json_values, JUNK)))
    if isinstance(value, dict) and draw(st.booleans()):
        value = {k: v for k, v in value.items() if k != "type"}  # the endpoint says it
    size = draw(gen.message_sizes)
    if size and isinstance(value, dict):
        value = gen.padded(value, size)
    return send(route, value, draw(wrappings()))


@st.composite
def batches(draw: st.DrawFn, route: Route) -> Sent:
    items = draw(st.lists(gen.mostly(gen.messages(), gen.json_leaf), min_size=1, max_size=6))
    value: Any = {"batch": items}
    value.update(draw(st.fixed_dictionaries({}, optional={"context": gen.context, "sentAt": gen.times})))
    size = draw(gen.batch_sizes)
    while size and len(gen.serialise(value).encode()) < size:  # fill with 30 KB page views up to `size`
        room = size - len(gen.serialise(value).encode())
        view = {"type": "page", "anonymousId": "pad", "messageId": f"pad-{len(value['batch'])}"}
        value["batch"].append(gen.padded(view, max(min(room, 30_000), 200)))
    value = draw(gen.mostly(st.just(value), st.one_of(JUNK, gen.json_values), odds=8))
    importer = route.path.endswith("/import") and not draw(gen.one_in(3))  # else a 403
    return send(route, value, draw(wrappings()), auth_headers=basic_auth(IMPORT_KEY) if importer else None)


FORM_IDS = ["newsletter", "x" * 65, "has space", "ü", "a.b", "\r\n"]
form_fields = gen.mutated(
    st.fixed_dictionaries(
        {"email": st.sampled_from(gen.GOOD_EMAILS)},
        optional={
            "name": gen.text,
            "company": gen.text,
            "title": gen.text,
            "phone": gen.text,
            "anonymousId": gen.safe_id,
            "messageId": gen.safe_id,
            "pagePath": gen.text,
            "_next": st.sampled_from(["/thanks", f"{gen.SITE}/thanks?x=1", "http://localhost:3000/thanks"]),
        },
    ),
    {
        "email": gen.emails,
        "anonymousId": gen.wild_ids,
        "messageId": gen.wild_ids,
        "_next": gen.urls,
        "_hp": st.sampled_from(["http://spam.example", "1"]) | gen.tricky_text,
        "name": gen.json_values,
    },
)


def _urlencoded(fields: dict[str, Any]) -> str:
    return "&".join(
        f"{quote(str(k), safe='', errors='surrogatepass')}={quote(str(v), safe='', errors='surrogatepass')}"
        for k, v in fields.items()
    )


@st.composite
def form_posts(draw: st.DrawFn, route: Route) -> Sent:
    fields = draw(gen.mostly(form_fields, st.dictionaries(gen.text, gen.json_values, max_size=4), odds=8))
    form_id = draw(gen.mostly(st.just("demo-request"), st.sampled_from(FORM_IDS)))
    urlencoded = draw(st.booleans())
    return send(
        route,
        fields,
        draw(wrappings()),
        content_type=gen.FORM_ENCODED if urlencoded else "application/json",
        form=urlencoded,
        path="/v1/forms/" + quote(form_id, safe=""),
        path_params={"form_id": form_id},
    )


@st.composite
def link_fetches(draw: st.DrawFn, route: Route, secret: str) -> Sent:
    params = draw(
        st.fixed_dictionaries(
            {
                links.RECIPIENT: gen.mostly(st.from_regex(r"[0-9a-f]{32}", fullmatch=True), gen.text),
                links.TARGET: gen.mostly(st.just(f"{gen.SITE}/offer?x=1"), gen.urls),
            },
            optional={links.CAMPAIGN: gen.text, links.SIGNATURE: gen.text},
        )
    )
    try:
        query = urlencode(params) if draw(gen.one_in(5)) else links.signed_query(params, secret)
    except UnicodeEncodeError:  # nothing can sign or send an unpaired surrogate: sent percent-encoded
        query = _urlencoded(params)
    return Sent(request(route, f"{route.path}?{query}", b"", draw(gen.headers), ""))


@st.composite
def snippet_fetches(draw: st.DrawFn, route: Route) -> Sent:
    headers = {**draw(gen.headers), "accept-encoding": draw(st.sampled_from(["gzip", "br", "", "gzip;q=0"]))}
    return Sent(request(route, route.path, b"", headers, ""))


# The demo source's origins (tests/integration/conftest.py): the only ones a preflight may pass.
KNOWN_ORIGINS = {gen.SITE, "http://localhost:3000", "http://localhost"}


@st.composite
def preflights(draw: st.DrawFn, route: Route) -> Sent:
    rest = draw(gen.mostly(st.sampled_from([*SINGLE_CALLS, *BATCH_CALLS, "forms/demo-request"]), gen.text))
    asked = st.fixed_dictionaries(
        {},
        optional={
            "origin": gen.mostly(
                st.sampled_from([*sorted(KNOWN_ORIGINS), "https://evil.example", "null", gen.SITE.upper()]),
                gen.text | gen.urls | st.just("https://" + "a" * 5000 + ".test"),
            ),
            "access-control-request-method": gen.mostly(st.sampled_from(["POST", "GET"]), gen.text),
            "access-control-request-headers": gen.mostly(
                st.sampled_from(["content-type", "authorization,content-type"]), gen.text
            ),
        },
    ).map(lambda sent: {name: value for name, value in sent.items() if gen.sendable(value)})
    path = "/v1/" + (quote(rest, safe="/", errors="surrogatepass") or "t")  # {proxy+}: one character at least
    return Sent(request(route, path, b"", draw(asked), "", path_params={"proxy": path.removeprefix("/v1/")}))


# What a JWT authorizer may pass: a user of some groups (as Cognito spells them, or not), odd claims, or
# nothing at all (a route misconfigured without the authorizer).
users = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["sales", "marketing", "admin", "guests", "Sales", "[sales]"]), max_size=3).map(
        lambda groups: signed_in(*groups)
    ),
    st.dictionaries(st.sampled_from(["sub", "cognito:groups", "scope"]), gen.text, max_size=3).map(
        lambda claims: Authorized(claims, None)
    ),
)


@st.composite
def card_reads(draw: st.DrawFn, route: Route) -> Sent:
    lead_id = draw(gen.mostly(st.sampled_from([lead_of("anon-1"), "Lnobody", "x" * 65]), gen.text))
    path = "/api/leads/" + (quote(lead_id, safe="", errors="surrogatepass") or "L")
    headers = draw(gen.headers)
    return Sent(request(route, path, b"", headers, "", path_params={"lead_id": lead_id}, user=draw(users)))


# The fields the actions take, with values of every kind; users that may act (with their e-mail) or not.
action_bodies = gen.mostly(
    st.dictionaries(
        st.sampled_from(["reason", "stage", "amount", "currency", "answers", "text"]),
        st.one_of(
            gen.json_leaf,
            st.sampled_from(["opportunity", "won", "lost", "EUR", 1200]),
            st.dictionaries(st.sampled_from(["budget", "need", "champion", "Budget!"]), gen.json_leaf),
        ),
        max_size=4,
    ),
    gen.json_values,
)
actors = gen.mostly(
    st.sampled_from(["sales", "admin"]).map(lambda g: signed_in(g, email="rep@example.com", sub="s-rep")),
    users,
)


@st.composite
def lead_actions(draw: st.DrawFn, route: Route) -> Sent:
    lead_id = draw(gen.mostly(st.sampled_from([lead_of("anon-1"), "Lnobody"]), gen.text))
    path = route.path.replace("{lead_id}", quote(lead_id, safe="", errors="surrogatepass") or "L")
    body = json.dumps(draw(action_bodies)).encode()
    headers = draw(gen.headers)
    key = draw(st.one_of(st.none(), st.sampled_from(["k1", "k2"]), gen.text))
    if key is not None:
        headers = {**headers, "idempotency-key": key}
    user = draw(actors)
    return Sent(
        request(route, path, body, headers, "application/json", path_params={"lead_id": lead_id}, user=user)
    )


LIST_PARAMETERS = [
    *("stage", "min_score", "account", "channel", "campaign", "owner", "sla", "updated_since"),
    *("sort", "limit", "cursor"),
]


@st.composite
def list_reads(draw: st.DrawFn, route: Route) -> Sent:
    """A list with any of its filters (plausible values, or anything), or an account's card."""
    plausible = st.sampled_from(
        [
            "SQL",
            "MQL,SQL",
            "lead",
            "5",
            "100",
            "-3",
            "me",
            "acme.com",
            "breached",
            "score",
            "updated",
            "2026-01-01T00:00:00Z",
            "eyJxIjoiMCJ9",
            "paid search",
        ]
    )
    params = draw(
        st.dictionaries(st.sampled_from(LIST_PARAMETERS), gen.mostly(plausible, gen.text), max_size=4)
    )
    query = urlencode(params, quote_via=quote, errors="surrogatepass") if params else ""
    path, path_params = route.path, None
    if route.path == "/api/accounts/{domain}":
        domain = draw(gen.mostly(st.sampled_from(["acme.com", "nobody.example", "x" * 300]), gen.text))
        path = "/api/accounts/" + (quote(domain, safe="", errors="surrogatepass") or "d")
        path_params = {"domain": domain}
    event = request(
        route, f"{path}?{query}" if query else path, b"", draw(gen.headers), "", path_params, draw(users)
    )
    return Sent(event)


@st.composite
def report_reads(draw: st.DrawFn, route: Route) -> Sent:
    day = gen.mostly(st.dates().map(lambda d: d.isoformat()), gen.text)
    params = draw(
        st.dictionaries(
            st.sampled_from(["since", "until", "by"]),
            gen.mostly(day, st.sampled_from(["channel", "campaign", ""])),
            max_size=3,
        )
    )
    path = route.path + ("?" + urlencode(params, errors="surrogatepass") if params else "")
    return Sent(request(route, path, b"", draw(gen.headers), "", user=draw(users)))


@st.composite
def document_reads(draw: st.DrawFn, route: Route) -> Sent:
    headers = {**draw(gen.headers), "accept-encoding": draw(st.sampled_from(["gzip", ""]))}
    return Sent(request(route, route.path, b"", headers, ""))


@st.composite
def web_file_reads(draw: st.DrawFn, route: Route) -> Sent:
    """The web app's files: any path under /app (made up, traversing, encoded), any conditional and
    encoding headers."""
    if route.path == "/app":
        return Sent(request(route, "/app", b"", draw(gen.headers), ""))
    known = st.sampled_from(["js/main.js", "app.css", "config.json", "vendor/htm-3.1.1.js", "index.html", ""])
    rest = draw(
        gen.mostly(known, gen.text | st.sampled_from(["../app.py", "js/../../app.py", ".env", "a/./b"]))
    )
    optional = {
        "accept-encoding": gen.mostly(st.sampled_from(["gzip", "br", "gzip;q=0", "*"]), gen.text),
        "if-none-match": gen.text,
    }
    asked = st.fixed_dictionaries({}, optional=optional).map(
        lambda sent: {name: value for name, value in sent.items() if gen.sendable(value)}
    )
    path = "/app/" + quote(rest, safe="/", errors="surrogatepass")
    return Sent(
        request(route, path, b"", {**draw(gen.headers), **draw(asked)}, "", path_params={"proxy": rest})
    )


@st.composite
def slack_clicks(draw: st.DrawFn, route: Route) -> Sent:
    """What anyone on the internet may send the Slack route: form bodies with a `payload` or not, with
    Slack's headers made up (a made-up signature, an old or odd timestamp) or missing."""
    payload = draw(st.one_of(JUNK, st.dictionaries(st.sampled_from(["type", "user", "actions"]), gen.text)))
    form = {"payload": payload if isinstance(payload, str) else json.dumps(payload)}
    body = urlencode(form, errors="surrogatepass").encode() if draw(gen.one_in(2)) else draw(st.binary())
    slack = st.fixed_dictionaries(
        {},
        optional={
            "x-slack-request-timestamp": gen.mostly(st.integers(0, 2**40).map(str), gen.text),
            "x-slack-signature": gen.mostly(st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True), gen.text),
        },
    ).map(lambda sent: {name: value for name, value in sent.items() if gen.sendable(value)})
    headers = {**draw(gen.headers), **draw(slack)}
    return Sent(request(route, route.path, body, headers, "application/x-www-form-urlencoded"))


def check_preflight(sent: Sent, response: dict[str, Any]) -> None:
    """A yes names the origin that asked, one a source lists; anything else allows nothing."""
    origin = sent.event["headers"].get("origin")
    cors = {
        k.lower(): v for k, v in (response.get("headers") or {}).items() if k.lower().startswith("access-")
    }
    if origin in KNOWN_ORIGINS:
        assert (response["statusCode"], cors["access-control-allow-origin"]) == (204, origin)
    else:
        assert response["statusCode"] in (400, 403), response
        assert cors == {}


# --- what a response may have stored ---------------------------------------------------------------------


@contextlib.contextmanager
def captured_writes() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """(table, key) of every write the functions in this process send to DynamoDB, at their one client."""
    client = aws_clients.client("dynamodb")
    writes: list[tuple[str, dict[str, Any]]] = []

    def key(item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in ("pk", "sk", "id") if name in item}  # id: IdempotencyTable's

    def capture(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        if model.name == "PutItem":
            writes.append((params["TableName"], key(params["Item"])))
        elif model.name in ("UpdateItem", "DeleteItem"):
            writes.append((params["TableName"], key(params["Key"])))
        elif model.name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                writes.extend((table, key(r["PutRequest"]["Item"])) for r in requests)
        elif (
            model.name == "TransactWriteItems"
        ):  # a merge: its puts and updates (a ConditionCheck writes nothing)
            for action in params["TransactItems"]:
                if "Put" in action:
                    writes.append((action["Put"]["TableName"], key(action["Put"]["Item"])))
                for kind in ("Update", "Delete"):
                    if kind in action:
                        writes.append((action[kind]["TableName"], key(action[kind]["Key"])))
        else:
            assert not model.name.startswith(("Transact", "Delete", "Execute")), model.name

    client.meta.events.register("before-parameter-build.dynamodb", capture)
    try:
        yield writes
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", capture)


def texts(value: Any) -> Iterator[str]:
    """Every string in a DynamoDB JSON item: values, list members, map keys."""
    if isinstance(value, dict):
        for type_or_key, inner in value.items():
            if type_or_key == "S":
                yield inner
            elif type_or_key == "SS":
                yield from inner
            else:
                if type_or_key not in ("L", "M", "N", "NS", "BOOL", "NULL", "B", "BS"):
                    yield type_or_key  # a map key
                yield from texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from texts(inner)


class Store:
    """Reads back what a request wrote, through the product's repositories where it has them."""

    def __init__(self, stack: Stack, aws: dict[str, Any]) -> None:
        self.ddb = aws["dynamodb"]
        self.leads = stack.physical_name("LeadsTable")
        self.accounts = stack.physical_name("AccountsTable")
        self.sources = stack.physical_name("SourcesTable")
        self.idempotency = stack.physical_name("IdempotencyTable")
        self.events = EventRepository(self.leads)
        self.profiles = ProfileRepository(self.leads)

    def check(self, sent: Sent, response: dict[str, Any], writes: list[tuple[str, dict[str, Any]]]) -> None:
        status = response["statusCode"]
        assert status < 500, response.get("body")
        data = [(table, key) for table, key in writes if table in (self.leads, self.accounts)]
        if status >= 400:
            assert data == [], f"a {status} stored {data}"
            # an action under an Idempotency-Key holds its key while it runs; a refusal lets go of it
            held = [k for t, k in writes if t == self.idempotency]
            left = [k for k in held if "Item" in self.ddb.get_item(TableName=self.idempotency, Key=k)]
            assert left == [], f"a {status} kept the Idempotency-Key record {left}"
            writes = [(t, k) for t, k in writes if t != self.idempotency]
            counters = [(t, k) for t, k in writes if t == self.sources and k["sk"]["S"].startswith("FORMS#")]
            assert writes == (counters if status == 429 else []), f"a {status} wrote {writes}"
            return
        for table, key in data:
            item = self.ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            assert item is not None, key
            self.well_formed(sent, item)

    def well_formed(self, sent: Sent, item: dict[str, Any]) -> None:
        bad = [t for t in texts(item) if UNSAFE_TEXT.search(t)]
        assert bad == [], f"stored text holds control, bidi or surrogate characters: {bad!r}"
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if sk.startswith("EVT#"):
            _lead, stored = self.events.from_image(item)  # as ScoreFunction reads it
            received = sent.received_at
            oldest = EARLIEST if sent.history else received - LIVE_HISTORY - timedelta(seconds=1)
            assert oldest <= stored.at <= received + timedelta(seconds=1), stored.at
            assert stored.type in EventType
        elif sk == "PROFILE" and pk.startswith("LEAD#"):
            profile = self.profiles.load(pk.removeprefix("LEAD#"))
            assert profile is not None
            if profile.email:
                local, _, domain = profile.email.rpartition("@")
                assert local, profile.email
                assert domain.isascii(), profile.email
            if profile.account:
                assert profile.account.strip() == profile.account != ""
        elif pk.startswith("ACCOUNT#"):
            assert pk.removeprefix("ACCOUNT#").strip() not in ("", "www"), pk


@pytest.fixture
def store(stack: Stack, aws: dict[str, Any]) -> Store:
    return Store(stack, aws)


@pytest.fixture
def importer(stack: Stack, aws: dict[str, Any]) -> None:
    admin = SourceAdmin(SourceRepository(stack.physical_name("SourcesTable")))
    admin.create("Importer", (), Privacy(), datetime.now(UTC), key=IMPORT_KEY, allow_import=True)


def handler(stack: Stack, route: Route) -> ModuleType:
    return importlib.import_module(f"functions.{stack.functions[route.function].code_uri.name}.app")


def secret_of(stack: Stack, aws: dict[str, Any]) -> str:
    secret = aws["secretsmanager"].get_secret_value(SecretId=stack.physical_name("LinkSecret"))
    return str(secret["SecretString"])


# --- the suite -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.route_key)
def test_a_route_never_fails_and_stores_only_what_it_accepts(
    route: Route, stack: Stack, aws: dict[str, Any], store: Store, importer: None
) -> None:
    function = handler(stack, route)
    requests = {
        "single": lambda: single_calls(route),
        "batch": lambda: batches(route),
        "form": lambda: form_posts(route),
        "pixel": lambda: link_fetches(route, secret_of(stack, aws)),
        "click": lambda: link_fetches(route, secret_of(stack, aws)),
        "snippet": lambda: snippet_fetches(route),
        "preflight": lambda: preflights(route),
        "lead_card": lambda: card_reads(route),
        "lead_action": lambda: lead_actions(route),
        "api_document": lambda: document_reads(route),
        "sales_list": lambda: list_reads(route),
        "report": lambda: report_reads(route),
        "slack": lambda: slack_clicks(route),
        "web_file": lambda: web_file_reads(route),
    }[kind(route)]()

    @settings(gen.FUZZ, max_examples=round(EXAMPLES[kind(route)] * SCALE))
    @given(sent=requests)
    def one_request(sent: Sent) -> None:
        with captured_writes() as writes:
            response = function.lambda_handler(sent.event, CTX)
        note(f"status {response['statusCode']}")  # --hypothesis-show-statistics shows what was reached
        store.check(sent, response, writes)
        if kind(route) == "preflight":
            check_preflight(sent, response)
        if kind(route) in ("lead_card", "api_document", "sales_list", "report"):
            assert writes == [], "the sales API reads only"
        if kind(route) == "api_document":
            assert response["statusCode"] == 200
        if kind(route) == "slack":  # no signature of Slack's: refused (or the route is off), nothing written
            assert response["statusCode"] in (400, 401, 404), response
            assert writes == []
        if kind(route) == "pixel":
            assert (response["statusCode"], response["headers"]["Content-Type"]) == (200, "image/gif")
        if kind(route) == "web_file":  # files only: nothing written, nothing but a file, a move or a 404
            assert writes == []
            assert response["statusCode"] in (200, 301, 304, 404), response

    one_request()


@settings(gen.FUZZ, max_examples=round(60 * SCALE))
@given(
    good=st.lists(gen.good_messages(), min_size=1, max_size=4),
    bad=st.lists(st.one_of(gen.messages(), gen.json_leaf), max_size=4),
    shuffle=st.randoms(use_true_random=False),
    encoding=st.sampled_from(["utf-8", "gzip"]),
    ensure_ascii=st.booleans(),
)
def test_the_good_messages_of_a_batch_are_always_stored(
    track: ModuleType,
    store: Store,
    good: list[dict[str, Any]],
    bad: list[Any],
    shuffle: random.Random,
    encoding: str,
    ensure_ascii: bool,
) -> None:
    tagged = [(True, message) for message in good] + [(False, message) for message in bad]
    shuffle.shuffle(tagged)
    text = gen.serialise({"batch": [message for _good, message in tagged]}, ensure_ascii=ensure_ascii)
    body, headers = gen.encode(text, encoding)
    route = next(r for r in ROUTES if r.path == "/v1/batch")
    sent = Sent(request(route, route.path, body, {**gen.auth("demo")[0], **headers}, "application/json"))

    with captured_writes() as writes:
        response = track.lambda_handler(sent.event, CTX)

    store.check(sent, response, writes)
    assert response["statusCode"] == 200, response["body"]
    refused = {r["index"] for r in json.loads(response["body"])["rejected"]}
    assert refused.isdisjoint(i for i, (is_good, _m) in enumerate(tagged) if is_good)
    for message in good:
        key = {
            "pk": {"S": f"LEAD#{lead_of(message['anonymousId'])}"},
            "sk": {"S": f"EVT#{message['messageId']}"},
        }
        item = store.ddb.get_item(TableName=store.leads, Key=key, ConsistentRead=True).get("Item")
        assert item is not None, message
        assert store.events.from_image(item)[1].type.value == message["type"]
