"""What the fuzz suite sends: Segment messages and batches with mutated fields, form posts, e-mail link
queries, and the HTTP around them (headers, keys, encodings, sizes near the limits).

Most fields are valid most of the time (`mostly`), so that requests get past the first check and reach
storage; any of them may be wild. Values that `json.dumps` cannot produce (an integer of 5,000 digits,
nesting beyond what Python's parser takes) travel as placeholders that `serialise` replaces in the text.
"""

import gzip
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from leadstream.tracking.segment import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES

from local.runner import DEMO_WRITE_KEY
from tests.builders import basic_auth

# A fixed seed (a failure is a reproducer, not a flake), no example database in the working tree, no
# deadline (each example is a handler call against moto over HTTP), and the moto stack made once per
# test (a fixture), not per example.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

SITE = "https://www.acme-demo.test"
FORM_ENCODED = "application/x-www-form-urlencoded"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

HUGE = "__HUGE__"  # an integer of 5,000 digits (more than Python reads from text)
DEEP = {n: f"__DEEP_{n}__" for n in (40, 1200, 12_000)}  # arrays nested n levels


def serialise(value: Any, *, ensure_ascii: bool = True) -> str:
    """JSON text (NaN and Infinity included: JSON.stringify never writes them, other clients do), with
    the placeholders replaced."""
    text = json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=True)
    text = text.replace(json.dumps(HUGE), "9" * 5000)
    for levels, marker in DEEP.items():
        text = text.replace(json.dumps(marker), "[" * levels + "]" * levels)
    return text


def mostly[T](
    usual: st.SearchStrategy[T], wild: st.SearchStrategy[Any], odds: int = 4
) -> st.SearchStrategy[Any]:
    """`usual`, and `wild` about once in `odds + 1` draws. (Hypothesis reaches for edge cases on purpose:
    a choice among repeated strategies would still be `wild` half the time. A run of coin flips that all
    come up tails is as rare as it should be.)"""
    flips = max(1, math.ceil(math.log2(odds + 1)))
    return st.lists(st.booleans(), min_size=flips, max_size=flips).flatmap(
        lambda coins: usual if any(coins) else wild
    )


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in `n` draws."""
    return mostly(st.just(False), st.just(True), odds=n - 1)


TRICKY = [
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\u202eevil\u202c",
    "\u2066isolated\u2069",
    "x\r\nSet-Cookie: pwned=1",
    "\x1b[2J\x1b[31mred",
    "\x9b\x85",
    "nan",
    "inf",
    "😀\u200d",
    "é" * 30,
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "a" * 300,
    "%0d%0a%00",
    "\ufeff\ufffe\uffff",
    "\u2028\u2029",
]
tricky_text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=30),
    st.text(st.characters(exclude_categories=()), max_size=12),  # surrogates and controls included
)
plain_text = st.text(st.characters(categories=("L", "N", "Zs", "P")), min_size=1, max_size=24)
text = mostly(plain_text, tricky_text, odds=2)  # descriptive text: cleaned, never a reason to refuse

safe_id = st.from_regex(r"[A-Za-z0-9_-]{1,24}", fullmatch=True)
wild_ids = st.one_of(tricky_text, st.integers(), st.none(), st.just("x" * 201))
ids = mostly(safe_id, wild_ids, odds=6)

numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(HUGE),
)
json_leaf = st.one_of(st.none(), st.booleans(), numbers, text, st.sampled_from(list(DEEP.values())))
json_values = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=10,
)
finite_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53), 2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        text,
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=8,
)


def _at(offset: timedelta) -> str:
    return (datetime.now(UTC) + offset).isoformat()


RECENT = [timedelta(0), -timedelta(minutes=5), -timedelta(days=6, hours=23), timedelta(days=400)]
recent_times = st.sampled_from(RECENT).map(_at)
times = mostly(
    recent_times,
    st.one_of(
        st.sampled_from(
            [
                "0001-01-01T00:00:00Z",
                "0001-01-01T00:00:00+05:00",
                "9999-12-31T23:59:59Z",
                "9999-12-31T23:59:59-05:00",
                "2001-03-01T10:00:00Z",
                "1969-12-31T23:59:59Z",
                "2026-13-45T25:61:61Z",
                "yesterday",
                "",
            ]
        ),
        st.sampled_from([0, -1, 1e20, 253402300800, 1.5e9]),
        tricky_text,
    ),
)
GOOD_EMAILS = ["jane@acme.com", "Jane@Bücher.de", "jäne@bücher.de", "someone@gmail.com", "j@xn--bcher-kva.de"]
emails = mostly(
    st.sampled_from(GOOD_EMAILS),
    st.one_of(
        st.sampled_from(
            [
                "bad@@acme.com",
                "a\u202e@acme.com",
                "jane@acme.com\r\nBcc: x@y.z",
                "Jane Doe <jane@acme.com>",
                "j@localhost",
                "j@[127.0.0.1]",
                "j@" + "a" * 64 + ".com",
                "",
            ]
        ),
        tricky_text,
    ),
)
GOOD_URLS = [
    f"{SITE}/pricing?utm_source=google&utm_medium=cpc&utm_campaign=q4",
    f"{SITE}/blog/x?gclid=1&utm_source=%0d%0aevil%00&utm_campaign=%ED%A0%80",
    "https://bücher.de/ü?x=ü",
    "/relative/path",
    "http://localhost:3000/thanks",
]
urls = mostly(
    st.sampled_from(GOOD_URLS),
    st.one_of(
        st.sampled_from(
            [
                "http://[oops/",
                "javascript:alert(1)",
                "//evil.example/x",
                "http://localhost:3000/x\r\nSet-Cookie: a=1",
                "http://localhost:3000/x%0d%0aSet-Cookie:%20pwned=1",
                "https://user:pw@www.acme-demo.test/",
                "http://localhost:3000:99999/",
                "http://[fe80::1%25eth0]/",
            ]
        ),
        tricky_text,
    ),
    odds=2,
)
domains = mostly(
    st.sampled_from(["acme.com", "www.eu.acme.co.uk", "Bücher.de", "initech"]),
    st.one_of(st.sampled_from(["\x00", "acme com", "co.uk", "www."]), tricky_text),
    odds=2,
)


def mutated(usual: st.SearchStrategy[dict[str, Any]], wild: dict[str, st.SearchStrategy[Any]]) -> Any:
    """`usual` as it is, or with one of its fields (present or not) replaced by a `wild` value: one
    mutation at a time, so that the rest of a request still reaches the code behind the first check."""
    choice = mostly(st.none(), st.sampled_from(list(wild)), odds=2)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        value = draw(usual)
        field = draw(choice)
        if field is not None:
            value = {**value, field: draw(wild[field])}
        return value

    return build()


page = st.fixed_dictionaries(
    {}, optional={"path": text, "url": urls, "referrer": urls, "title": text, "search": text}
)
campaign = st.dictionaries(st.sampled_from(["source", "medium", "name", "content", "term"]), text, max_size=3)
context = mutated(
    st.fixed_dictionaries(
        {},
        optional={
            "page": page,
            "campaign": campaign,
            "userAgent": st.sampled_from([BROWSER, BROWSER, BROWSER, GOOGLEBOT]),
            "ip": st.sampled_from(["203.0.113.77", "2001:db8::1", "fe80::1%eth0", "999.1.1.1", ""]) | text,
        },
    ),
    {
        "page": json_values,
        "campaign": st.dictionaries(text, json_leaf, max_size=3) | json_values,
        "userAgent": tricky_text | json_leaf,
        "ip": tricky_text | json_leaf,
    },
)
traits = mutated(
    st.fixed_dictionaries(
        {},
        optional={
            "email": st.sampled_from(GOOD_EMAILS),
            "name": text,
            "firstName": text,
            "lastName": text,
            "title": st.sampled_from(["VP Marketing", "Intern"]) | text,
            "company": text,
            "phone": text,
            "website": urls,
            "domain": st.sampled_from(["acme.com", "www.eu.acme.co.uk", "Bücher.de", "initech"]),
            "industry": text,
            "employees": st.integers(0, 10**6),
        },
    ),
    {
        "email": emails,
        "domain": domains,
        "employees": st.one_of(st.integers(), tricky_text, numbers),
        "name": json_values,
    },
)
TYPES = ["page", "track", "identify", "screen", "group", "alias"]


def messages(type_: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """A valid Segment message of `type_` (any type if None), or one with a field mutated.

    `type_` is left out now and then, as a single call may leave it out."""
    types = st.just(type_) if type_ else st.sampled_from(TYPES)
    usual = st.fixed_dictionaries(
        {
            "type": types,
            "anonymousId": safe_id,
            "messageId": safe_id,
            "previousId": safe_id,
            "userId": safe_id,
            "groupId": safe_id,
            "event": st.sampled_from(["Signed Up", "Pricing Calculator Used"]),
        },
        optional={
            "name": text,
            "timestamp": recent_times,
            "sentAt": recent_times,
            "properties": st.dictionaries(st.sampled_from(["path", "url", "referrer", "x"]), finite_values),
            "traits": traits,
            "context": context,
            "integrations": st.dictionaries(plain_text, st.booleans(), max_size=2),
        },
    )
    return mutated(
        usual,
        {
            "type": st.sampled_from([*TYPES, "bogus"]) | json_leaf,
            "anonymousId": wild_ids,
            "userId": wild_ids,
            "messageId": wild_ids,
            "previousId": wild_ids,
            "groupId": wild_ids,
            "event": tricky_text | json_leaf,
            "timestamp": times,
            "originalTimestamp": times,
            "sentAt": times,
            "properties": json_values,
            "traits": json_values,
            "context": json_values,
            "integrations": json_values,
        },
    )


def good_messages() -> st.SearchStrategy[dict[str, Any]]:
    """A message every rule accepts, odd text and all: it must be stored whatever shares its batch."""
    common = {
        "anonymousId": st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True),
        "messageId": st.uuids().map(str),
    }
    optional = {
        "timestamp": recent_times,
        "name": text,
        "properties": st.dictionaries(text, finite_values, max_size=3),
        "context": st.fixed_dictionaries(
            {},
            optional={
                "page": st.fixed_dictionaries(
                    {}, optional={"path": text, "url": urls, "referrer": urls, "title": text}
                ),
                "userAgent": st.just(BROWSER),
            },
        ),
    }
    events = st.from_regex(r"[A-Za-z][A-Za-z ]{0,20}", fullmatch=True)
    identify_traits = st.fixed_dictionaries(
        {"email": st.sampled_from(GOOD_EMAILS)}, optional={"name": text, "title": text, "company": text}
    )
    return st.one_of(
        st.fixed_dictionaries({**common, "type": st.just("page")}, optional=optional),
        st.fixed_dictionaries({**common, "type": st.just("screen")}, optional=optional),
        st.fixed_dictionaries({**common, "type": st.just("track"), "event": events}, optional=optional),
        st.fixed_dictionaries(
            {**common, "type": st.just("identify"), "traits": identify_traits}, optional=optional
        ),
    )


def padded(value: dict[str, Any], size: int) -> dict[str, Any]:
    """`value` with a property that makes its JSON about `size` bytes."""
    room = size - len(serialise(value).encode()) - len(',"properties":{"pad":""}')
    return {**value, "properties": {"pad": "x" * max(room, 0)}}


message_sizes = mostly(st.just(0), st.integers(MAX_MESSAGE_BYTES - 64, MAX_MESSAGE_BYTES + 64), odds=6)
batch_sizes = mostly(st.just(0), st.integers(MAX_BATCH_BYTES - 512, MAX_BATCH_BYTES + 512), odds=12)

# --- the HTTP around a body ----------------------------------------------------------------------------

KEYS = ["demo"] * 6 + ["none", "unknown", "long", "control", "non-ascii", "bad-basic", "in-body"]


def auth(kind: str) -> tuple[dict[str, str], str | None]:
    """(headers, writeKey for the body or query) of a way of sending a key."""
    keys = {
        "demo": DEMO_WRITE_KEY,
        "unknown": "lsk_unknown",
        "long": "lsk_" + "x" * 3000,
        "control": "lsk_\x00\r\n",
    }
    if kind in keys:
        return basic_auth(keys[kind]), None
    return {
        "none": ({}, None),
        "non-ascii": ({"authorization": "Basic bHNrX8Op"}, None),  # lsk_é
        "bad-basic": ({"authorization": "Basic ~~~not base64~~~"}, None),
        "in-body": ({}, DEMO_WRITE_KEY),
    }[kind]


def sendable(value: str) -> bool:
    """What HTTP can carry in a header value at all (no line breaks, no unpaired surrogates)."""
    return not any(c in "\r\n" or 0xD800 <= ord(c) <= 0xDFFF for c in value)


wild_headers = st.fixed_dictionaries(
    {},
    optional={
        "origin": st.sampled_from([SITE, "http://localhost:3000", "https://evil.example", "null"]),
        "referer": urls,
        "user-agent": st.sampled_from([BROWSER, GOOGLEBOT, "analytics-python/2.3", ""]) | text,
        "dnt": st.sampled_from(["1", "0"]),
        "sec-gpc": st.sampled_from(["1", "0"]),
    },
).map(lambda sent: {name: value for name, value in sent.items() if sendable(value)})
clean_headers = st.fixed_dictionaries(
    {}, optional={"origin": st.sampled_from([SITE, "http://localhost:3000"]), "user-agent": st.just(BROWSER)}
)
headers = mostly(clean_headers, wild_headers, odds=2)
content_types = mostly(
    st.sampled_from(["application/json", "text/plain", "text/plain;charset=UTF-8"]),
    st.sampled_from([FORM_ENCODED, "application/octet-stream", "multipart/form-data; boundary=x", ""]),
)
ENCODINGS = ["utf-8"] * 6 + ["gzip", "gzip", "not-gzip", "corrupt-gzip", "latin-1"]
CLEAN_ENCODINGS = ["utf-8", "gzip"]


def encode(text_body: str, encoding: str) -> tuple[bytes, dict[str, str]]:
    """The body's bytes as a client sends them, and the header that says how. Unpaired surrogates in the
    text (JSON without ASCII escapes) become bytes that are not UTF-8, as a broken client would send."""
    raw = text_body.encode("utf-8", "surrogatepass")
    if encoding == "gzip":
        return gzip.compress(raw), {"content-encoding": "gzip"}
    if encoding == "not-gzip":
        return raw, {"content-encoding": "gzip"}
    if encoding == "corrupt-gzip":  # a gzip header, then damaged deflate data
        damaged = bytearray(gzip.compress(raw))
        for at in range(10, len(damaged) - 8, 7):
            damaged[at] ^= 0xA5
        return bytes(damaged), {"content-encoding": "gzip"}
    if encoding == "latin-1":
        return text_body.encode("latin-1", "replace"), {}
    return raw, {}
