"""Data access for what people record on a lead (LeadsTable, the lead's partition): qualification answers,
notes and the audit trail of the sales actions. Writes are TransactWriteItems actions, so each goes with
the effect it belongs to (a stage change, an event) or not at all.

LEAD#<id> / QUAL                     the answers: per criterion {text, by (e-mail), at}; the framework of
                                     the latest answers; a write version (answers merge under it)
LEAD#<id> / NOTE#<ms>#<id>           a note: text, by, at (sorted by time: the newest are one Query)
LEAD#<id> / AUDIT#<ms>#<id>          one action: what, by (e-mail), at, outcome, the request's id. No note
                                     text and no answers: those are in their own items

Answers and notes are what a person typed: personal data at times, never logged.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute

from leadstream.platform.dynamo import Item, bind, mapped_errors, moment, timestamp, transact
from leadstream.platform.errors import ConcurrentUpdate
from leadstream.sales.workflow import Answer

QUALIFICATION_SK = "QUAL"
NOTE_PREFIX = "NOTE#"
AUDIT_PREFIX = "AUDIT#"


class QualificationItem(Item):
    class Meta:
        abstract = True

    framework = UnicodeAttribute()
    answers = MapAttribute[str, Any]()  # criterion id -> {"text", "by", "at"}
    version = NumberAttribute()


class NoteItem(Item):
    class Meta:
        abstract = True

    id = UnicodeAttribute()
    text = UnicodeAttribute()
    by = UnicodeAttribute()
    at = NumberAttribute()


class AuditItem(Item):
    class Meta:
        abstract = True

    id = UnicodeAttribute()
    action = UnicodeAttribute()
    by = UnicodeAttribute()
    at = NumberAttribute()
    outcome = UnicodeAttribute()
    request_id = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class Answers:
    """A lead's qualification answers as stored; `version` None: none yet."""

    framework: str | None
    answers: dict[str, Answer]
    version: int | None


@dataclass(frozen=True)
class StoredNote:
    id: str
    text: str
    by: str
    at: datetime


@dataclass(frozen=True)
class AuditRecord:
    id: str
    action: str
    by: str
    at: datetime
    outcome: str
    request_id: str | None = None


def _sorted_key(prefix: str, at: datetime, record_id: str) -> str:
    return f"{prefix}{round(at.timestamp() * 1000):015d}#{record_id}"


def _at(value: float) -> datetime:
    at = moment(value)
    assert at is not None
    return at


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def _put(table: str, item: Item, condition: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": item.serialize(), **condition}}


_NEW = {"ConditionExpression": "attribute_not_exists(pk)"}


class SalesRecords:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.answer_items = bind(QualificationItem, leads_table)
        self.note_items = bind(NoteItem, leads_table)
        self.audit_items = bind(AuditItem, leads_table)

    # --- qualification ---

    def answers(self, lead_id: str) -> Answers:
        with mapped_errors("reading qualification answers"):
            try:
                item = self.answer_items.get(f"LEAD#{lead_id}", QUALIFICATION_SK, consistent_read=True)
            except self.answer_items.DoesNotExist:
                return Answers(None, {}, None)
        found = {
            criterion: Answer(str(a["text"]), str(a["by"]), _at(float(a["at"])))
            for criterion, a in item.answers.as_dict().items()
        }
        return Answers(item.framework, found, int(item.version))

    def put_answers(
        self, lead_id: str, framework: str, answers: dict[str, Answer], read: Answers
    ) -> dict[str, Any]:
        """The action that stores `answers` (all of them: merged with `read`), only if nobody wrote them since
        `read` (its version)."""
        item = self.answer_items(
            f"LEAD#{lead_id}",
            QUALIFICATION_SK,
            framework=framework,
            answers={c: {"text": a.text, "by": a.by, "at": timestamp(a.at)} for c, a in answers.items()},
            version=(read.version or 0) + 1,
        )
        if read.version is None:
            return _put(self.table, item, _NEW)
        condition = {
            "ConditionExpression": "#version = :version",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {":version": {"N": str(read.version)}},
        }
        return _put(self.table, item, condition)

    # --- notes ---

    def put_note(self, lead_id: str, note: StoredNote) -> dict[str, Any]:
        item = self.note_items(
            f"LEAD#{lead_id}",
            _sorted_key(NOTE_PREFIX, note.at, note.id),
            id=note.id,
            text=note.text,
            by=note.by,
            at=timestamp(note.at),
        )
        return _put(self.table, item, _NEW)

    def notes(self, lead_id: str, limit: int) -> list[StoredNote]:
        """The lead's newest `limit` notes, newest first (one Query)."""
        model = self.note_items
        with mapped_errors("reading notes"):
            found = model.query(
                f"LEAD#{lead_id}",
                model.sk.startswith(NOTE_PREFIX),
                scan_index_forward=False,
                limit=limit,
                consistent_read=True,
            )
            return [StoredNote(i.id, i.text, i.by, _at(i.at)) for i in found]

    # --- audit ---

    def put_audit(self, lead_id: str, record: AuditRecord) -> dict[str, Any]:
        item = self.audit_items(
            f"LEAD#{lead_id}",
            _sorted_key(AUDIT_PREFIX, record.at, record.id),
            id=record.id,
            action=record.action,
            by=record.by,
            at=timestamp(record.at),
            outcome=record.outcome,
            request_id=record.request_id,
        )
        return _put(self.table, item, _NEW)

    def audit(self, lead_id: str) -> list[AuditRecord]:
        """The lead's audit trail, oldest first (one Query)."""
        model = self.audit_items
        with mapped_errors("reading the audit trail"):
            found = model.query(f"LEAD#{lead_id}", model.sk.startswith(AUDIT_PREFIX), consistent_read=True)
            return [AuditRecord(i.id, i.action, i.by, _at(i.at), i.outcome, i.request_id) for i in found]

    def write(self, lead_id: str, actions: list[dict[str, Any]]) -> None:
        """Actions of one lead, all or none. ConcurrentUpdate when a condition failed (re-read, retry)."""
        if not transact(actions, "writing a sales action"):
            raise ConcurrentUpdate(f"lead {lead_id}'s qualification changed while it was being answered")
