"""The archive's record and layout (pure): where a record goes, the same bytes for the same records, and
a day read back with each record once, in the order stored."""

from datetime import UTC, date, datetime

from leadstream.archive.records import (
    LEAD_HASHES,
    ArchivedRecord,
    day_of_key,
    decode,
    encode,
    group,
    in_order,
    lead_hash,
)

NOON = datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp()


def event(lead: str, n: int, stored: float = NOON, seq: int | None = None) -> ArchivedRecord:
    return ArchivedRecord(
        "event",
        lead,
        f"EVT#m-{n}",
        stored - 5,
        stored,
        str(seq or 1000 + n),
        {"type": "page", "path": f"/{n}"},
    )


def test_a_record_is_one_json_line_and_reads_back_the_same():
    record = ArchivedRecord(
        "merge", "L2", "MERGE#L2", NOON, NOON, "7", {"into": "L1", "cause": "same e-mail"}
    )

    assert "\n" not in record.to_json()
    assert ArchivedRecord.from_json(record.to_json()) == record
    assert record.leads() == {"L1", "L2"}


def test_objects_go_by_lead_hash_and_stored_day_and_are_named_by_their_records():
    records = [event("L1", 1), event("L1", 2), event("L1", 3, stored=NOON + 86400)]

    objects = group(records)

    hashed = lead_hash("L1")
    assert 0 <= hashed < LEAD_HASHES
    assert sorted(objects) == [
        f"events/leadhash={hashed:02d}/dt=2026-11-30/1001-1002.json.gz",
        f"events/leadhash={hashed:02d}/dt=2026-12-01/1003-1003.json.gz",
    ]
    assert [day_of_key(key) for key in sorted(objects)] == [date(2026, 11, 30), date(2026, 12, 1)]


def test_the_same_records_make_the_same_bytes():
    records = [event("L1", 1), event("L2", 2)]

    assert encode(records) == encode(list(records))
    assert decode(encode(records)) == records


def test_a_day_reads_back_each_record_once_in_the_order_stored():
    first, second, third = event("L1", 1, NOON + 1), event("L2", 2, NOON + 2), event("L1", 3, NOON + 3)

    assert in_order([third, first, second, first, third]) == [first, second, third]
