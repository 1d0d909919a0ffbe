"""Bots and crawlers, recognised by user agent with the maintained CrawlerDetect patterns."""

from functools import cache

from crawlerdetect import CrawlerDetect


@cache
def _detector() -> CrawlerDetect:
    return CrawlerDetect()  # compiles its patterns once per container, on first use


def is_bot(user_agent: str | None) -> bool:
    """A missing user agent is not a browser either: SDKs on servers send one, as browsers do."""
    if not user_agent:
        return False
    return bool(_detector().isCrawler(user_agent))
