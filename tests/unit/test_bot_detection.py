"""Bots are recognised exactly as CrawlerDetect recognises them, without compiling all of its patterns."""

import random
import re
import string

import pytest
from crawlerdetect import CrawlerDetect
from crawlerdetect.providers.crawlers import data as crawler_patterns
from leadstream.tracking.bots import is_bot

BROWSERS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Safari/537.36 Edg/131.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.4.0",
    "python-requests/2.31",
    "Java/17.0.1",
    "facebookexternalhit/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 "
    "Safari/537.36",
]


@pytest.mark.parametrize("agent", BROWSERS)
def test_browsers_are_people(agent: str) -> None:
    assert not is_bot(agent)


@pytest.mark.parametrize("agent", BOTS)
def test_crawlers_and_scripts_are_bots(agent: str) -> None:
    assert is_bot(agent)


@pytest.mark.parametrize("agent", [None, "", "   "])
def test_no_user_agent_is_not_a_bot(agent: str | None) -> None:
    assert not is_bot(agent)


def _samples() -> list[str]:
    """Every CrawlerDetect pattern as a user agent of its own and inside a browser-like one, plus noise."""
    found = [*BROWSERS, *BOTS]
    for pattern in crawler_patterns:
        text = re.sub(r"[\\^$]", "", pattern).replace(".*", "x").replace("[0-9]", "1")
        found += [text, f"Mozilla/5.0 (compatible; {text})", text.upper()]
    noise = random.Random(7)
    alphabet = string.ascii_letters + " /;().-_"
    found += ["".join(noise.choice(alphabet) for _ in range(noise.randint(1, 60))) for _ in range(2000)]
    return found


def test_every_answer_is_crawlerdetects() -> None:
    reference = CrawlerDetect()

    differ = [agent for agent in _samples() if is_bot(agent) != reference.is_crawler(agent)]

    assert differ == []
