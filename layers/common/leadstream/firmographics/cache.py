"""Data access for the company of each network (SourcesTable, pk/sk strings; TTL `expires_at`).

NETWORK#<prefix> / COMPANY     what the provider said of the network (81.2.69.0/24, 2a00:1450:4001::/48):
                               `kind`, and for a business `domain` and `name`; `expires_at`

A cache, not a record: DynamoDB's TTL deletes an item some time after `expires_at`, and `get` hands back
the time so the caller treats an item past it as gone. No visitor's address is stored: the key is the
same prefix the stored IP is truncated to.
"""

from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from leadstream.firmographics.company import Company, CompanyKind
from leadstream.platform.dynamo import Item, bind, mapped_errors, moment, timestamp

COMPANY_SK = "COMPANY"


def network_pk(prefix: str) -> str:
    return f"NETWORK#{prefix}"


class NetworkCompanyItem(Item):
    class Meta:
        abstract = True

    kind = UnicodeAttribute()
    domain = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()


class CompanyCache:
    """Raises StoreUnavailable when DynamoDB fails; the caller decides what that means."""

    def __init__(self, table: str) -> None:
        self.items = bind(NetworkCompanyItem, table)

    def get(self, prefix: str) -> tuple[Company, datetime] | None:
        """The network's company and when that answer expires; None if there is none."""
        with mapped_errors("reading a network's company"):
            try:
                item = self.items.get(network_pk(prefix), COMPANY_SK)
            except self.items.DoesNotExist:
                return None
        try:
            kind = CompanyKind(item.kind)
        except ValueError:
            return None  # written by a later version: ask again
        expires = moment(item.expires_at)
        assert expires is not None
        return Company(kind, item.domain, item.name), expires

    def put(self, prefix: str, company: Company, expires: datetime) -> None:
        item = self.items(
            network_pk(prefix),
            COMPANY_SK,
            kind=company.kind.value,
            domain=company.domain,
            name=company.name,
            expires_at=timestamp(expires),
        )
        with mapped_errors("saving a network's company"):
            item.save()
