"""Slack's v0 request signature: the HMAC of the timestamp and the raw body, within five minutes."""

import pytest
from leadstream.platform.errors import Unauthorized
from leadstream.slack.signature import signature, verify

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
# Slack's documented example request (api.slack.com/authentication/verifying-requests-from-slack)
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
    b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
TIMESTAMP = "1531420618"
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_the_signature_is_slacks_for_its_documented_example() -> None:
    assert signature(SECRET, TIMESTAMP, BODY) == EXPECTED
    verify(SECRET, TIMESTAMP, EXPECTED, BODY, now=float(TIMESTAMP) + 299)


@pytest.mark.parametrize(
    ("timestamp", "given", "body", "now"),
    [
        pytest.param(TIMESTAMP, EXPECTED, BODY + b"&x=1", float(TIMESTAMP), id="tampered-body"),
        pytest.param(TIMESTAMP, EXPECTED[:-1] + "4", BODY, float(TIMESTAMP), id="wrong-signature"),
        pytest.param(str(int(TIMESTAMP) + 1), EXPECTED, BODY, float(TIMESTAMP), id="other-timestamp"),
        pytest.param(TIMESTAMP, EXPECTED, BODY, float(TIMESTAMP) + 301, id="stale"),
        pytest.param(TIMESTAMP, EXPECTED, BODY, float(TIMESTAMP) - 301, id="from-the-future"),
        pytest.param(None, EXPECTED, BODY, float(TIMESTAMP), id="no-timestamp"),
        pytest.param(TIMESTAMP, None, BODY, float(TIMESTAMP), id="no-signature"),
        pytest.param("1e9", EXPECTED, BODY, float(TIMESTAMP), id="not-a-time"),
    ],
)
def test_anything_else_is_refused(timestamp: str | None, given: str | None, body: bytes, now: float) -> None:
    with pytest.raises(Unauthorized):
        verify(SECRET, timestamp, given, body, now)
