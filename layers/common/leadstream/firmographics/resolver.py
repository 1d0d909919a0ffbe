"""A visitor's company, at most one provider lookup per network a month: a small in-memory LRU per
container, then the network's item in DynamoDB, then the provider (asked about the network's first
address, never the visitor's own).

How long an answer is kept: a company (any kind) 30 days, "nobody there" a day, and a failed lookup (the
provider down, slow or refusing) a minute, in this container only, so that an outage costs each network
one timeout a minute rather than one per request, and is forgotten once it is over.

A cache fault never fails tracking: the lookup goes on without it (the side concern never fails the main
one). Logs name the kind of fault only, never an address or a network.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from leadstream.firmographics.cache import CompanyCache
from leadstream.firmographics.company import Company, CompanyKind, CompanyResolver, network, network_address
from leadstream.firmographics.ipinfo import IPINFO, IpinfoResolver
from leadstream.platform import secrets
from leadstream.platform.errors import StoreUnavailable
from leadstream.platform.observability import logger

KEEP_COMPANY = timedelta(days=30)
KEEP_NOBODY = timedelta(days=1)
KEEP_FAILURE = timedelta(minutes=1)
MEMORY_SIZE = 512  # networks; a few dozen bytes each


def _now() -> datetime:
    return datetime.now(UTC)


class CachedResolver:
    def __init__(
        self,
        provider: CompanyResolver,
        cache: CompanyCache,
        clock: Callable[[], datetime] = _now,
        memory_size: int = MEMORY_SIZE,
    ) -> None:
        self.provider = provider
        self.cache = cache
        self.clock = clock
        self.memory_size = memory_size
        self._memory: OrderedDict[str, tuple[Company | None, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, ip: str) -> Company | None:
        prefix = network(ip)
        if prefix is None:
            return None
        now = self.clock()
        remembered = self._recall(prefix, now)
        if remembered is not None:
            return remembered[0]
        stored = self._stored(prefix, now)
        if stored is not None:
            self._remember(prefix, *stored)
            return stored[0]
        company = self.provider.resolve(network_address(prefix))
        if company is None:
            self._remember(prefix, None, now + KEEP_FAILURE)
            return None
        expires = now + (KEEP_NOBODY if company.kind is CompanyKind.UNKNOWN else KEEP_COMPANY)
        self._remember(prefix, company, expires)
        try:
            self.cache.put(prefix, company, expires)
        except StoreUnavailable as exc:
            logger.warning("network company not cached", reason=str(exc))
        return company

    def _stored(self, prefix: str, now: datetime) -> tuple[Company, datetime] | None:
        try:
            stored = self.cache.get(prefix)
        except StoreUnavailable as exc:
            logger.warning("network company cache unreadable", reason=str(exc))
            return None
        if stored is None or stored[1] <= now:  # DynamoDB's TTL deletes expired items late
            return None
        return stored

    def _recall(self, prefix: str, now: datetime) -> tuple[Company | None, datetime] | None:
        with self._lock:
            entry = self._memory.get(prefix)
            if entry is None:
                return None
            if entry[1] <= now:
                del self._memory[prefix]
                return None
            self._memory.move_to_end(prefix)
            return entry

    def _remember(self, prefix: str, company: Company | None, expires: datetime) -> None:
        with self._lock:
            self._memory[prefix] = (company, expires)
            self._memory.move_to_end(prefix)
            while len(self._memory) > self.memory_size:
                self._memory.popitem(last=False)


def company_resolver(
    token_secret: str | None,
    cache_table: str,
    base_url: str | None = None,
    clock: Callable[[], datetime] = _now,
) -> CachedResolver | None:
    """The resolver a tracking function uses: IPinfo with the token in Secrets Manager (`token_secret`,
    settings' COMPANY_LOOKUP_SECRET), cached in `cache_table` (the SourcesTable). None when no token is
    configured: the feature is off. The token is read on the first lookup, not here. `base_url`: the
    provider's (settings' COMPANY_LOOKUP_URL), IPinfo's own when None."""
    token = secrets.reader(token_secret)
    if token is None:
        return None
    return CachedResolver(IpinfoResolver(token, base_url or IPINFO), CompanyCache(cache_table), clock)
