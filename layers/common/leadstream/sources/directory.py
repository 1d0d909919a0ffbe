"""Sources: authenticating calls by write key and origin, the origins CORS preflights may pass, and the
operator's create/rotate/disable/origins."""

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leadstream.platform.errors import BadRequest, Forbidden, NotFound, Unauthorized
from leadstream.platform.http import browser_origin
from leadstream.platform.observability import logger
from leadstream.sources.model import (
    Privacy,
    Source,
    SourceStatus,
    Trust,
    new_salt,
    new_source_id,
    new_write_key,
    plausible_write_key,
)
from leadstream.sources.repository import SourceRepository


class SourceDirectory:
    """Looks up the source of a write key, caching answers for a minute per container."""

    def __init__(self, repo: SourceRepository, ttl_seconds: float = 60.0, size: int = 512) -> None:
        self.repo = repo
        self.ttl = ttl_seconds
        self.size = size  # bounded: random keys from the internet must not grow a container's memory
        self._cache: OrderedDict[str, tuple[float, Source | None, datetime | None]] = OrderedDict()

    def _lookup(self, key: str) -> tuple[Source | None, datetime | None]:
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            self._cache.move_to_end(key)
            return hit[1], hit[2]
        write_key = self.repo.key(key)
        source = self.repo.source(write_key.source_id) if write_key else None
        expires = write_key.expires_at if write_key else None
        self._remember(key, source, expires)
        return source, expires

    def _remember(self, key: str, source: Source | None, expires: datetime | None) -> None:
        self._cache[key] = (time.monotonic(), source, expires)
        self._cache.move_to_end(key)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)

    def _allows(self, key: str, source: Source, expires: datetime | None, origin: str | None) -> Source:
        """The source, if it allows `origin`; else read afresh once (an origin added a moment ago works at
        once, whatever this container remembers), and Forbidden if it still does not."""
        if source.allows_origin(origin):
            return source
        fresh = self.repo.source(source.id)
        if fresh is not None:
            self._remember(key, fresh, expires)
        if fresh is None or not fresh.allows_origin(origin):
            raise Forbidden(f"origin {origin} is not allowed for this source")
        if not fresh.active:
            raise Unauthorized("this source is disabled")
        return fresh

    def forget(self) -> None:
        """Drop every cached answer (a new container starts with none)."""
        self._cache.clear()

    def authenticate(self, key: str | None, origin: str | None, now: datetime) -> Source:
        if not key:
            raise Unauthorized("a write key is required: HTTP Basic user name, or 'writeKey' in the body")
        if not plausible_write_key(key):  # no look-up: DynamoDB would refuse it as a key (a 503)
            raise Unauthorized("unknown or retired write key")
        source, expires = self._lookup(key)
        if source is None or (expires is not None and now >= expires):
            raise Unauthorized("unknown or retired write key")
        if not source.active:
            raise Unauthorized("this source is disabled")
        if source.trust is Trust.SERVER and origin is not None:
            refuse_server_key_in_browser(source)
        return self._allows(key, source, expires, origin)


def refuse_server_key_in_browser(source: Source) -> None:
    """A server key arrived with an Origin header: a browser sent it, so the key sits in a web page, where
    anyone can read it and send as the customer's servers. Nothing is stored; the operator is told."""
    logger.warning("a server source's write key was sent from a browser", source_id=source.id)
    raise Forbidden(
        "this is a server key: it belongs on your servers, never in a web page (this call came from a "
        "browser, which sent an Origin header). Use a browser source's key in web pages, and rotate this "
        "key: it is no longer secret (python -m cli sources rotate <source-id>)"
    )


class KnownOrigins:
    """Which origins a CORS preflight may pass: those of active sources (the origin index). A yes is cached
    a minute per container; a no is never cached, so an origin the command line added works at once."""

    def __init__(self, repo: SourceRepository, ttl_seconds: float = 60.0, size: int = 512) -> None:
        self.repo = repo
        self.ttl = ttl_seconds
        self.size = size  # bounded, as the write keys' cache
        self._known: OrderedDict[str, float] = OrderedDict()

    def forget(self) -> None:
        self._known.clear()

    def admit(self, origin: str | None) -> str:
        """The origin, if an active source lists it; BadRequest without one, Forbidden (naming the command
        that fixes it) for any other."""
        if origin is None:
            raise BadRequest("a CORS preflight (OPTIONS) needs the Origin header a browser sends")
        since = self._known.get(origin)
        if since is not None and time.monotonic() - since < self.ttl:
            self._known.move_to_end(origin)
            return origin
        if browser_origin(origin) is None:  # no source can list it: no look-up (DynamoDB refuses some)
            raise Forbidden("the Origin header is not a website's origin (http(s)://host[:port])")
        if not self.repo.origin_in_use(origin):
            self._known.pop(origin, None)
            raise Forbidden(
                f"origin {origin} is not allowed: no active source lists it. Add it with "
                f"`python -m cli sources origins <source-id> --add {origin}` "
                f"(or `sources create <name> --origin {origin}`)"
            )
        self._known[origin] = time.monotonic()
        self._known.move_to_end(origin)
        while len(self._known) > self.size:
            self._known.popitem(last=False)
        return origin


@dataclass(frozen=True)
class Created:
    source: Source
    write_key: str


class SourceAdmin:
    """What an operator does with sources (the `sources` command line)."""

    def __init__(self, repo: SourceRepository) -> None:
        self.repo = repo

    def create(
        self,
        name: str,
        origins: tuple[str, ...],
        privacy: Privacy,
        now: datetime,
        *,
        source_id: str | None = None,
        key: str | None = None,
        allow_import: bool = False,
        trust: Trust = Trust.BROWSER,
    ) -> Created:
        """A new source and its first write key (`source_id`/`key` fixed only for local demos and tests).
        `allow_import`: it may send history to /v1/import (a backfill, a simulator, a migration); `trust`:
        SERVER for a key kept on servers (browsers are refused with it, so it lists no origins)."""
        if key is not None and not plausible_write_key(key):
            raise ValueError("a write key is 1 to 256 printable ASCII characters without spaces")
        if trust is Trust.SERVER and origins:
            raise ValueError("a server source has no browser origins: browsers are refused with its key")
        source = Source(
            source_id or new_source_id(name),
            name,
            tuple(o.rstrip("/") for o in origins),
            privacy=privacy,
            salt=new_salt(),
            allow_import=allow_import,
            trust=trust,
        )
        self.repo.save_source(source, now)
        write_key = key or new_write_key()
        self.repo.add_key(write_key, source.id)
        return Created(source, write_key)

    def get(self, source_id: str) -> Source:
        source = self.repo.source(source_id)
        if source is None:
            raise NotFound(f"no source {source_id!r}; `sources list` shows them")
        return source

    def rotate(self, source_id: str, grace: timedelta, now: datetime) -> str:
        """A new key now; the old ones keep working for `grace` so live sites can be updated."""
        self.get(source_id)
        for old in self.repo.keys_of(source_id):
            if old.expires_at is None or old.expires_at > now + grace:
                self.repo.retire_key(old.key, now + grace)
        key = new_write_key()
        self.repo.add_key(key, source_id)
        return key

    def set_status(self, source_id: str, status: SourceStatus, now: datetime) -> Source:
        source = replace(self.get(source_id), status=status)
        self.repo.save_source(source, now)
        return source

    def set_origins(
        self, source_id: str, add: tuple[str, ...], remove: tuple[str, ...], now: datetime
    ) -> Source:
        """Add and remove allowed origins (an origin both added and removed is removed). Browsers on an
        added origin pass CORS at once; a removed one is refused within a minute."""
        source = self.get(source_id)
        if add and source.trust is Trust.SERVER:
            raise BadRequest(
                f"{source_id} is a server source: browsers are refused with its key, so it takes no origins "
                "(create a browser source for web pages)"
            )
        gone = {o.rstrip("/") for o in remove}
        origins = dict.fromkeys((*source.allowed_origins, *(o.rstrip("/") for o in add)))
        changed = replace(source, allowed_origins=tuple(o for o in origins if o not in gone))
        self.repo.save_source(changed, now)
        return changed

    def reindex_origins(self) -> int:
        return self.repo.reindex_origins()


def mask(key: str) -> str:
    return key[:8] + "…" + key[-4:]
