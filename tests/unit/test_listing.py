"""The lists' pure parts: merging index partitions newest first across pages, the cursor, the filters."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from leadstream.platform.errors import BadRequest
from leadstream.sales.listing import (
    DONE,
    MAX_SORTED,
    SALES_STAGES,
    Cursor,
    LeadFilters,
    Position,
    Sort,
    decode_cursor,
    encode_cursor,
    every_entry,
    newest_first,
    page_sorted,
)
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.score import LeadScore
from leadstream.tracking.attribution import Channel, Touch


@dataclass(frozen=True)
class Entry:
    at: int
    key: str

    @property
    def position(self) -> Position:
        return self.at, self.key


class Partitions:
    """Index partitions as DynamoDB serves them: newest first, `page` entries a read, counting the reads."""

    def __init__(self, entries: dict[str, list[Entry]], page: int) -> None:
        self.entries = {
            label: sorted(es, key=lambda e: e.position, reverse=True) for label, es in entries.items()
        }
        self.page, self.reads = page, 0

    def fetch(self, label: str, start: Position | None) -> tuple[list[Entry], Position | None]:
        self.reads += 1
        after = [e for e in self.entries[label] if start is None or e.position < start]
        found = after[: self.page]
        return found, (found[-1].position if len(after) > self.page else None)


def pages(partitions: Partitions, limit: int, keep: object = lambda e: True) -> list[list[str]]:
    labels = list(partitions.entries)
    cursor: Cursor | None = Cursor()
    found: list[list[str]] = []
    while cursor is not None:
        # the cursor crosses the wire between pages
        cursor = decode_cursor(encode_cursor(cursor, "q"), "q", labels) if cursor.positions else cursor
        page, cursor = newest_first(labels, cursor, partitions.fetch, limit, keep)  # type: ignore[arg-type]
        found.append([e.key for e in page])
        assert len(found) < 100
    return found


def test_partitions_merge_newest_first_and_every_entry_comes_once_across_pages() -> None:
    entries = {
        "MQL": [Entry(t, f"m{t}") for t in (1, 4, 5, 9, 12)],
        "SQL": [Entry(t, f"s{t}") for t in (2, 3, 10)],
        "won": [],
        "accepted": [Entry(t, f"a{t}") for t in (6, 7, 8, 11, 13, 14)],
    }
    everything = sorted((e for es in entries.values() for e in es), key=lambda e: -e.at)

    for limit in (1, 2, 3, 5, 14, 50):
        for page in (1, 2, 7):
            found = pages(Partitions(entries, page), limit)
            assert [k for p in found for k in p] == [e.key for e in everything], (limit, page)
            assert all(len(p) == limit for p in found[:-1])


def test_entries_a_filter_drops_still_move_the_cursor_on() -> None:
    entries = {
        "a": [Entry(t, f"a{t}") for t in range(1, 20, 2)],
        "b": [Entry(t, f"b{t}") for t in range(2, 21, 2)],
    }
    kept = pages(Partitions(entries, 3), 2, keep=lambda e: e.at % 3 == 0)

    assert [k for p in kept for k in p] == ["b18", "a15", "b12", "a9", "b6", "a3"]


def test_a_cursor_is_none_once_every_partition_is_done_and_done_ones_are_not_read_again() -> None:
    partitions = Partitions({"a": [Entry(9, "a9")], "b": [Entry(t, f"b{t}") for t in range(2, 8)]}, 2)
    first, cursor = newest_first(["a", "b"], Cursor(), partitions.fetch, 2, lambda e: True)
    assert [e.key for e in first] == ["a9", "b7"]
    assert cursor is not None
    assert cursor.positions == {"a": DONE, "b": (7, "b7")}
    reads = partitions.reads

    rest, end = newest_first(["a", "b"], cursor, partitions.fetch, 10, lambda e: True)

    assert [e.key for e in rest] == ["b6", "b5", "b4", "b3", "b2"]
    assert end is None
    assert partitions.reads - reads == 3  # b's three pages; a, done, is not read again


def test_a_cursor_is_refused_when_damaged_foreign_or_of_another_query() -> None:
    good = encode_cursor(Cursor({"SQL": (5, "L1"), "MQL": DONE}), "q1")
    assert decode_cursor(good, "q1", ["SQL", "MQL"]) == Cursor({"SQL": (5, "L1"), "MQL": DONE})

    for text, labels in [
        ("%%%", ["SQL"]),
        ("bm90IGpzb24", ["SQL"]),  # "not json"
        (encode_cursor(Cursor({"SQL": (5, "L1")}), "q2"), ["SQL"]),  # another query's
        (good, ["SQL"]),  # a partition this query does not read
        (encode_cursor(Cursor({"SQL": (5, "")}), "q1"), ["SQL"]),
        ("x" * 5000, ["SQL"]),
    ]:
        with pytest.raises(BadRequest) as refused:
            decode_cursor(text, "q1", labels)
        assert refused.value.details[0]["field"] == "cursor"


def test_a_sorted_page_starts_after_the_last_rows_value_and_key() -> None:
    entries = [Entry(at, key) for at, key in [(5, "b"), (5, "a"), (9, "c"), (1, "d"), (5, "c")]]

    def key(e: Entry) -> tuple[float, str]:
        return float(e.at), e.key

    first, after = page_sorted(entries, key, None, 2)
    second, after2 = page_sorted(entries, key, after, 2)
    third, end = page_sorted(entries, key, after2, 2)

    assert [(e.at, e.key) for e in first + second + third] == [
        (9, "c"),
        (5, "a"),
        (5, "b"),
        (5, "c"),
        (1, "d"),
    ]
    assert end is None


def test_sorting_in_memory_reads_at_most_max_sorted_entries() -> None:
    partitions = Partitions({"SQL": [Entry(t, f"L{t}") for t in range(MAX_SORTED + 1)]}, 500)

    with pytest.raises(BadRequest, match="narrow"):
        every_entry(["SQL"], partitions.fetch)


def test_filters_match_what_a_lead_is_and_default_to_the_stages_sales_works() -> None:
    lead = LeadScore("L1", stage=Stage.SQL, first_touch=Touch(Channel.EMAIL, campaign="spring"))
    sales = {"owner": "rep@example.com", "sla": {"state": "running"}}

    assert Stage.LEAD not in LeadFilters().wanted
    assert set(LeadFilters().wanted) == set(SALES_STAGES)
    assert LeadFilters().matches(lead, sales, 10, 50.0)
    assert LeadFilters(channel="email", campaign="spring", owner="rep@example.com", sla="running").matches(
        lead, sales, 10, 50.0
    )
    assert not LeadFilters(stages=(Stage.MQL,)).matches(lead, sales, 10, 50.0)
    assert not LeadFilters(min_score=51).matches(lead, sales, 10, 50.0)
    assert not LeadFilters(sla="breached").matches(lead, sales, 10, 50.0)
    assert not LeadFilters(owner="other@example.com").matches(lead, sales, 10, 50.0)
    assert not LeadFilters(updated_since=datetime.fromtimestamp(1, UTC)).matches(lead, sales, 10, 50.0)
    assert LeadFilters().digest(Sort.UPDATED) != LeadFilters().digest(Sort.SCORE)
    assert LeadFilters(min_score=1).digest(Sort.UPDATED) != LeadFilters().digest(Sort.UPDATED)
