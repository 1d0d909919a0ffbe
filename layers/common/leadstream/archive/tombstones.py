"""Which of a batch's leads were erased: `people erase` leaves a tombstone STATE (`erased`) for a day, so
that a record stored just before the erase, still on its way through the stream, is not archived after
the erase took the person's records out of the archive (scoring drops such records the same way)."""

from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute

from leadstream.platform.dynamo import Item, bind, mapped_errors

STATE_SK = "STATE"


class TombstoneItem(Item):
    class Meta:
        abstract = True

    erased = BooleanAttribute(null=True)
    handed = ListAttribute[dict[str, Any]](null=True)  # a shared device another person holds now


class Tombstones:
    def __init__(self, leads_table: str) -> None:
        self.items = bind(TombstoneItem, leads_table)

    def erased(self, lead_ids: Iterable[str]) -> set[str]:
        """The leads among `lead_ids` whose STATE is an erase's tombstone (one BatchGetItem per 100 leads,
        of `erased` and `handed` only). A shared device's lead that another person holds now keeps its
        hand-overs in its tombstone: it is not erased, its holder's events go on."""
        keys = [(f"LEAD#{lead}", STATE_SK) for lead in dict.fromkeys(lead_ids)]
        if not keys:
            return set()
        with mapped_errors("reading leads' tombstones"):
            found = list(self.items.batch_get(keys, attributes_to_get=["pk", "sk", "erased", "handed"]))
        return {item.pk.removeprefix("LEAD#") for item in found if item.erased and not item.handed}
