"""Sources: authenticating calls by write key and origin, and the operator's create/rotate/disable."""

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leadstream.platform.errors import Forbidden, NotFound, Unauthorized
from leadstream.sources.model import (
    Privacy,
    Source,
    SourceStatus,
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
        self._cache[key] = (time.monotonic(), source, expires)
        self._cache.move_to_end(key)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return source, expires

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
        if not source.allows_origin(origin):
            raise Forbidden(f"origin {origin} is not allowed for this source")
        return source


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
    ) -> Created:
        """A new source and its first write key (`source_id`/`key` fixed only for local demos and tests).
        `allow_import`: it may send history to /v1/import (a backfill, a simulator, a migration)."""
        if key is not None and not plausible_write_key(key):
            raise ValueError("a write key is 1 to 256 printable ASCII characters without spaces")
        source = Source(
            source_id or new_source_id(name),
            name,
            tuple(o.rstrip("/") for o in origins),
            privacy=privacy,
            salt=new_salt(),
            allow_import=allow_import,
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


def mask(key: str) -> str:
    return key[:8] + "…" + key[-4:]
