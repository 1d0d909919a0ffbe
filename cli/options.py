"""Checks of option values, for argparse (`type=`): a bad value exits 2 with a message naming the option."""

import argparse
from collections.abc import Callable
from datetime import date
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(text: str) -> str:
    """A website origin as browsers send it (`Origin` header): `scheme://host[:port]`, http or https, no
    path, no wildcard. The host is lower-cased and a default port dropped, as browsers do."""
    value = text.strip()
    if "*" in value:
        raise argparse.ArgumentTypeError(
            f"{value!r}: no wildcards; name each site, e.g. --origin https://www.example.com"
        )
    parts = urlsplit(value)
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an origin: give the scheme and host, e.g. https://www.example.com"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in value or "#" in value:
        bare = f"{parts.scheme}://{parts.netloc}"
        raise argparse.ArgumentTypeError(f"{value!r}: an origin has no path, query or fragment; use {bare}")
    if parts.username is not None or parts.password is not None:
        raise argparse.ArgumentTypeError(f"{value!r}: an origin has no user name or password")
    try:
        port = parts.port
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: the port is not a number from 1 to 65535") from None
    host = parts.hostname or ""
    if not host or any(c.isspace() for c in host):
        raise argparse.ArgumentTypeError(f"{value!r}: the host name is missing or not valid")
    scheme = parts.scheme.lower()
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{shown}:{port}"


def base_url(text: str) -> str:
    """An http(s) base URL (the API, a local AWS endpoint): scheme and host required, any trailing `/`
    dropped."""
    value = text.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{value!r} is not a URL: give http(s)://host[:port][/path]")
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{value!r}: a base URL has no query or fragment")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: the port is not a number from 1 to 65535") from None
    return value.rstrip("/")


def day(text: str) -> date:
    """A day, YYYY-MM-DD (UTC): the --since and --until of reports and backtests."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a day, YYYY-MM-DD (UTC)") from None


def days(most: int | None = None) -> Callable[[str], int]:
    """The check of a number of days: a whole number, at least 1 (and at most `most`)."""
    limits = f"1 to {most}" if most is not None else "at least 1"

    def whole_days(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1 or (most is not None and value > most):
            raise argparse.ArgumentTypeError(f"a whole number of days, {limits}")
        return value

    return whole_days
