"""Data access for lead scores: the STATE item (LeadsTable).

LEAD#<id> / STATE         score, stage, per-rule totals, replay guards (`seq`, `absorbed`, `lent`, and
                          `rebuilt` after a rebuild), identity's `merged_into` and `handed` (carried over),
                          `model` (the version of the scoring model that computed the score),
                          write version, `expires_at` (the latest `lead_expires` of the events applied:
                          the table's TTL deletes an inactive lead's STATE, and ExpireFunction the rest)
                          and, only on the write that changed stage, the transitions (kept for readers
                          of STATE); `likelihood`, the predictive model's (ScoreFunction's, when one is
                          configured; carried over by the other writers). After `people erase`, for a day: a
                          tombstone (`erased`, `expires_at` only) that scoring never writes over
LEAD#<id> / TRANS#<n>     one stage change, durable (the outbox): its insert wakes PublishFunction; it keeps
                          `unpublished` = "1" (the sparse index UNPUBLISHED_INDEX) until it is published.
                          One a rescore recorded (`rescored`: where a new model would have moved the lead
                          then) never has `unpublished`, and PublishFunction's filter leaves it out

Every STATE write also sets what the sales API's lists read through two sparse indexes (never a scan):
`list_stage` (only for a lead worth listing: known or past `lead`, not merged, not erased) and `list_owner`
(only for an owned one), both sorted by `updated` (the write's time, epoch ms), and for their filters
`score` (fit + behaviour as of the write), the first touch's `channel` and `campaign`, `sla_state`.
"""

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from leadstream.platform import aws
from leadstream.platform.dynamo import (
    Item,
    bind,
    mapped_errors,
    moment,
    save_unless,
    timestamp,
    transact,
    update_unless,
)
from leadstream.platform.errors import ConcurrentUpdate, StoreUnavailable
from leadstream.predictive.model import Driver, Likelihood
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.replay import StoredScore
from leadstream.scoring.score import LeadScore, Reason, Transition
from leadstream.tracking.attribution import Touch

STATE_SK = "STATE"
TRANSITION_PREFIX = "TRANS#"
UNPUBLISHED_INDEX = "Unpublished"  # sparse GSI on `unpublished`: only transitions not yet published
LEADS_BY_STAGE = "LeadsByStage"  # sparse GSI: list_stage, updated (the leads worth listing)
LEADS_BY_OWNER = "LeadsByOwner"  # sparse GSI: list_owner, updated (owned leads)
INDEX_KEYS = {LEADS_BY_STAGE: "list_stage", LEADS_BY_OWNER: "list_owner"}
# A STATE that must not be listed (merged, erased) carries none of these: identity removes them on a merge
LISTING_KEYS = tuple(INDEX_KEYS.values())
Position = tuple[int, str]  # where a listing stands in an index partition: (updated, lead id)


class ScoreItem(Item):
    """A lead's score as an item stores it: STATE, and a shadow record (`shadow.repository`). The names are
    data already in tables. Each declares `stage` and `score` itself: a STATE tombstone has neither."""

    class Meta:
        abstract = True

    behaviour = NumberAttribute(null=True)
    as_of = NumberAttribute(null=True)
    known = BooleanAttribute(null=True)
    contrib = MapAttribute[str, list[int]](null=True)  # rule id -> [points, times]
    fit = MapAttribute[str, int](null=True)
    first_touch = MapAttribute[str, str](null=True)
    last_touch = MapAttribute[str, str](null=True)
    page_views = NumberAttribute(null=True)
    sessions = NumberAttribute(null=True)
    first_seen = NumberAttribute(null=True)
    last_seen = NumberAttribute(null=True)
    last_visit = NumberAttribute(null=True)
    events = NumberAttribute(null=True)
    transition_count = NumberAttribute(null=True)
    transitions = ListAttribute[dict[str, Any]](null=True)
    company = UnicodeAttribute(null=True)  # the latest visit's business, by its network (a domain)
    # the hand-raise and PQL rules' (scoring's): rule -> when it fired, while the lead is anonymous
    signals = MapAttribute[str, float](null=True)
    expires_at = TTLAttribute(null=True)


class StateItem(ScoreItem):
    class Meta:
        abstract = True

    seq = UnicodeAttribute(null=True)
    absorbed = MapAttribute[str, str](null=True)
    rebuilt = MapAttribute[str, int](null=True)  # message key -> when stored: events a rebuild counted
    version = NumberAttribute(null=True)
    model_version = NumberAttribute(null=True, attr_name="model")  # of the scoring model that computed it
    stage = UnicodeAttribute(null=True)
    weights = MapAttribute[str, float](null=True)  # rule id -> occurrences still counting at as_of
    transition_to = UnicodeAttribute(null=True)  # set only by the update that changed stage (outbox)
    merged_into = UnicodeAttribute(null=True)  # written by identity: this lead's events score on that lead
    handed = ListAttribute[dict[str, Any]](null=True)  # identity's: a device lead's hand-overs {at, to}
    lent = MapAttribute[str, str](null=True)  # device lead handed over to this one -> last sequence applied
    erased = BooleanAttribute(null=True)  # a tombstone left by privacy's erase
    # The sales workflow's (carried over by every scoring write, like identity's): who works the lead, since
    # when, and the speed-to-lead timer of its latest hand-over to sales
    owner = UnicodeAttribute(null=True)  # the owner's e-mail (a sales user)
    owner_at = NumberAttribute(null=True)
    sla = MapAttribute[str, Any](null=True)
    usage = MapAttribute[str, list[float]](
        null=True
    )  # scoring's: PQL rule -> its latest usage (epoch seconds)
    # What the sales API's lists read (LeadsByStage, LeadsByOwner): set by every write, from the rest
    list_stage = UnicodeAttribute(null=True)  # the stage, only for a lead worth listing
    list_owner = UnicodeAttribute(null=True)  # the owner, only for an owned lead worth listing
    updated = NumberAttribute(null=True)  # when STATE was written, epoch milliseconds (the indexes' sort)
    score = NumberAttribute(null=True)  # fit + behaviour as of the write (decays: a filter's first cut)
    channel = UnicodeAttribute(null=True)  # of the first touch
    campaign = UnicodeAttribute(null=True)  # of the first touch
    sla_state = UnicodeAttribute(null=True)  # sla.state, where a filter can read it
    # the predictive likelihood, written by ScoreFunction with the score when one is configured (carried over
    # by the other writers): {p: probability, v: model version, d: [[feature, label, effect], ...]}
    likelihood = MapAttribute[str, Any](null=True)


@dataclass(frozen=True)
class Listed:
    """A lead as a list shows it: its score and the sales workflow's fields, as of `updated` (epoch ms)."""

    lead: LeadScore
    updated: int
    sales: dict[str, Any]
    likelihood: Likelihood | None = None

    @property
    def position(self) -> Position:
        return self.updated, self.lead.lead_id


class TransitionItem(Item):
    """One stage change, written with the STATE write that made it; the card's facts as of that moment."""

    class Meta:
        abstract = True

    id = UnicodeAttribute()
    from_stage = UnicodeAttribute(attr_name="from")
    to_stage = UnicodeAttribute(attr_name="to")
    at = NumberAttribute()
    score = NumberAttribute()
    reasons = ListAttribute[list[Any]](null=True)
    first_touch = MapAttribute[str, str](null=True)
    last_touch = MapAttribute[str, str](null=True)
    first_seen = NumberAttribute(null=True)
    last_seen = NumberAttribute(null=True)
    page_views = NumberAttribute(null=True)
    sessions = NumberAttribute(null=True)
    unpublished = UnicodeAttribute(null=True)  # "1" until published (the sparse index's key)
    published_at = NumberAttribute(null=True)
    by = UnicodeAttribute(null=True)  # a user's e-mail; absent: the scoring model
    model_version = NumberAttribute(null=True, attr_name="model")
    reason = UnicodeAttribute(null=True)
    amount = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    hand_raiser = BooleanAttribute(null=True, attr_name="hand")
    # [label, points] of every fit rule that counted (scoring's); not `fit`: STATE's (a map) is read from the
    # same stream images
    fit = ListAttribute[list[Any]](null=True, attr_name="fits")
    likelihood = MapAttribute[str, Any](null=True)  # the predictive likelihood then, as STATE keeps it
    rescored = BooleanAttribute(null=True)  # a rescore's: never published (no `unpublished`)


def transition_sk(transition_id: str) -> str:
    """`TRANS#<n>` zero-padded from the id `<lead>:<stage>:<n>`, so a lead's transitions sort in order."""
    n = transition_id.rsplit(":", 1)[-1]
    return TRANSITION_PREFIX + (n.zfill(6) if n.isdigit() else transition_id)


def _likelihood_stored(likelihood: Likelihood | None) -> dict[str, Any] | None:
    if likelihood is None:
        return None
    return {
        "p": round(likelihood.probability, 4),
        "v": likelihood.model_version,
        "d": [[d.feature, d.label, d.effect] for d in likelihood.drivers],
    }


def _likelihood(stored: MapAttribute[str, Any] | None) -> Likelihood | None:
    raw = stored.as_dict() if stored is not None else None
    if not raw or raw.get("p") is None:
        return None
    drivers = tuple(Driver(str(f), str(label), float(effect)) for f, label, effect in raw.get("d") or ())
    return Likelihood(float(raw["p"]), drivers, int(raw["v"]))


def _who(raw: dict[str, Any]) -> dict[str, Any]:
    """A transition's who and why, as stored (short names; only what is set)."""
    amount = raw.get("amount")
    return {
        "by": raw.get("by"),
        "model_version": int(raw["model"]) if raw.get("model") is not None else None,
        "reason": raw.get("reason"),
        "amount": float(amount) if amount is not None else None,
        "currency": raw.get("currency"),
        "hand_raiser": bool(raw.get("hand")),
        "fit": _reasons(raw["fits"]) if raw.get("fits") is not None else None,
        "rescored": bool(raw.get("rescored")),
    }


def _reasons(stored: Iterable[list[Any]]) -> tuple[Reason, ...]:
    return tuple(Reason("", str(label), int(points)) for label, points in stored)


def _fit_stored(t: Transition) -> list[list[Any]] | None:
    return [[r.label, r.points] for r in t.fit] if t.fit is not None else None


def _who_stored(t: Transition) -> dict[str, Any]:
    stored = {
        "by": t.by,
        "model": t.model_version,
        "reason": t.reason,
        "amount": t.amount,
        "currency": t.currency,
        "hand": t.hand_raiser or None,
        "fits": _fit_stored(t),
        "rescored": t.rescored or None,
    }
    return {k: v for k, v in stored.items() if v is not None}


def transition_of(raw: dict[str, Any]) -> Transition:
    """A transition as a score item's `transitions` keeps it (`transition_attributes`, and who moved it)."""
    at = moment(raw["at"])
    assert at is not None
    return Transition(
        raw["id"],
        Stage(raw["from"]),
        Stage(raw["to"]),
        at,
        float(raw["score"]),
        tuple(Reason("", str(label), int(points)) for label, points in raw.get("reasons") or ()),
        **_who(raw),
    )


def transition_attributes(t: Transition) -> dict[str, Any]:
    """The stage change itself, as a score item's `transitions` keeps it; STATE adds who moved it."""
    return {
        "id": t.id,
        "from": t.from_stage.value,
        "to": t.to_stage.value,
        "at": timestamp(t.at),
        "score": t.score,
        "reasons": [[r.label, r.points] for r in t.reasons],
    }


def score_attributes(score: LeadScore) -> dict[str, Any]:
    """What a score item (`ScoreItem`, with its `stage` and `score`) stores of `score`, by attribute: all but
    the transitions, which STATE and a shadow record keep each in their own way."""
    return {
        "behaviour": round(score.behaviour, 4),
        "as_of": timestamp(score.as_of),
        "stage": score.stage.value,
        "score": round(score.behaviour + score.fit, 1),
        "known": score.known,
        "contrib": {k: list(v) for k, v in score.contributions.items()} or None,
        "fit": score.fit_points or None,
        "first_touch": score.first_touch.to_dict() if score.first_touch else None,
        "last_touch": score.last_touch.to_dict() if score.last_touch else None,
        "first_seen": timestamp(score.first_seen),
        "last_seen": timestamp(score.last_seen),
        "last_visit": timestamp(score.last_visit),
        "events": score.events,
        "page_views": score.page_views,
        "sessions": score.sessions,
        "transition_count": score.transition_count,
        "company": score.company,
        "signals": {k: timestamp(at) for k, at in score.signals.items()} or None,
    }


def score_of(
    item: ScoreItem,
    lead_id: str,
    stage: Stage,
    transitions: tuple[Transition, ...],
    *,
    weights: dict[str, float] | None = None,
    usage: dict[str, tuple[datetime, ...]] | None = None,
    model_version: int | None = None,
) -> LeadScore:
    """The score `item` stores (`score_attributes`), with what the item's own class reads of it."""
    contrib = item.contrib.as_dict() if item.contrib else {}
    touch = item.first_touch.as_dict() if item.first_touch else None
    return LeadScore(
        lead_id=lead_id,
        behaviour=float(item.behaviour or 0),
        as_of=moment(item.as_of),
        stage=stage,
        known=bool(item.known),
        contributions={k: (int(v[0]), int(v[1])) for k, v in contrib.items()},
        weights=weights or {},
        fit_points={k: int(v) for k, v in (item.fit.as_dict() if item.fit else {}).items()},
        first_touch=Touch.from_dict(touch) if touch else None,
        last_touch=Touch.from_dict(item.last_touch.as_dict()) if item.last_touch else None,
        first_seen=moment(item.first_seen),
        last_seen=moment(item.last_seen),
        last_visit=moment(item.last_visit),
        events=int(item.events or 0),
        page_views=int(item.page_views or 0),
        sessions=int(item.sessions or 0),
        transition_count=int(item.transition_count or 0),
        transitions=transitions,
        company=item.company,
        usage=usage or {},
        signals={
            rule: at
            for rule, at in (
                (r, moment(t)) for r, t in (item.signals.as_dict() if item.signals else {}).items()
            )
            if at is not None
        },
        model_version=model_version,
    )


def _score(item: StateItem) -> LeadScore:
    contrib = item.contrib.as_dict() if item.contrib else {}
    # STATE written before weights existed: each rule's occurrences count as if they were of `as_of` (an
    # empty map is weights all faded, or forgotten by a rejection's recycling)
    weights = item.weights.as_dict() if item.weights is not None else {k: v[1] for k, v in contrib.items()}
    return score_of(
        item,
        item.pk.removeprefix("LEAD#"),
        Stage(item.stage or Stage.LEAD.value),
        tuple(transition_of(t) for t in item.transitions or []),
        weights={k: float(v) for k, v in weights.items()},
        usage={
            rule: tuple(at for at in (moment(t) for t in times) if at is not None)
            for rule, times in (item.usage.as_dict() if item.usage else {}).items()
        },
        model_version=int(item.model_version) if item.model_version is not None else None,
    )


def _stored(item: StateItem) -> StoredScore:
    return StoredScore(
        _score(item),
        item.seq,
        item.absorbed.as_dict() if item.absorbed else {},
        int(item.version) if item.version is not None else 0,
        item.merged_into,
        item.expires_at,
        bool(item.erased),
        {k: int(v) for k, v in item.rebuilt.as_dict().items()} if item.rebuilt else {},
        tuple((float(h["at"]), str(h["to"])) for h in item.handed or ()),
        item.lent.as_dict() if item.lent else {},
        _sales(item),
        _likelihood(item.likelihood),
    )


def _sales(item: StateItem) -> dict[str, Any]:
    found = {"owner": item.owner, "owner_at": item.owner_at, "sla": item.sla.as_dict() if item.sla else None}
    return {k: v for k, v in found.items() if v is not None}


def _transition_record(item: TransitionItem) -> tuple[LeadScore, Transition]:
    """A TRANS item as the transition and the lead's state as of it (what a LeadCard tells)."""
    at = moment(item.at)
    assert at is not None
    transition = Transition(
        item.id,
        Stage(item.from_stage),
        Stage(item.to_stage),
        at,
        float(item.score),
        tuple(Reason("", str(label), int(points)) for label, points in item.reasons or ()),
        by=item.by,
        model_version=int(item.model_version) if item.model_version is not None else None,
        reason=item.reason,
        amount=float(item.amount) if item.amount is not None else None,
        currency=item.currency,
        hand_raiser=bool(item.hand_raiser),
        fit=_reasons(item.fit) if item.fit is not None else None,
        likelihood=_likelihood(item.likelihood),
        rescored=bool(item.rescored),
    )
    state = LeadScore(
        lead_id=item.pk.removeprefix("LEAD#"),
        stage=transition.to_stage,
        first_touch=Touch.from_dict(item.first_touch.as_dict()) if item.first_touch else None,
        last_touch=Touch.from_dict(item.last_touch.as_dict()) if item.last_touch else None,
        first_seen=moment(item.first_seen),
        last_seen=moment(item.last_seen),
        page_views=int(item.page_views or 0),
        sessions=int(item.sessions or 0),
        transitions=(transition,),
    )
    return state, transition


class ScoreRepository:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.states = bind(StateItem, leads_table)
        self.transitions = bind(TransitionItem, leads_table)

    def load(self, lead_id: str) -> StoredScore:
        """The lead's score with its replay guards and write version (a fresh lead if it has none)."""
        with mapped_errors("reading lead state"):
            try:
                return _stored(self.states.get(f"LEAD#{lead_id}", STATE_SK, consistent_read=True))
            except self.states.DoesNotExist:
                return StoredScore.new(lead_id)

    def load_many(self, lead_ids: Iterable[str]) -> dict[str, StoredScore]:
        """Many leads' scores in BatchGetItem requests of 100 (strongly consistent, as `load`)."""
        wanted = list(dict.fromkeys(lead_ids))
        with mapped_errors("reading lead states"):
            found = {
                item.pk.removeprefix("LEAD#"): _stored(item)
                for item in self.states.batch_get(
                    [(f"LEAD#{lead}", STATE_SK) for lead in wanted], consistent_read=True
                )
            }
        return {lead: found.get(lead) or StoredScore.new(lead) for lead in wanted}

    def from_image(self, image: dict[str, Any]) -> LeadScore:
        """The score in a stream record's NewImage (DynamoDB JSON)."""
        return _score(self.states.from_raw_data(image))

    def save(
        self,
        stored: StoredScore,
        score: LeadScore,
        lead_expires: datetime | None = None,
        also: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Write the whole STATE item (one small PutItem) with the guards in `stored`, only if nobody wrote
        it since it was read (`stored.version`). `lead_expires`: the latest of the applied events' (the
        lead's expiry moves forward, never back). `also`: more TransactWriteItems actions that must happen
        with this write or not at all (an OUT# lead event, an audit record)."""
        states = self.states
        item = self._state_item(stored, score, lead_expires)
        condition = states.pk.does_not_exist() if stored.version is None else states.version == stored.version
        if score.transitions or also:
            self._save_with_transitions(item, stored.version, score, also)
        elif not save_unless(item, condition, "writing lead state"):
            raise ConcurrentUpdate(f"lead {score.lead_id} changed while it was being scored")

    def as_saved(self, stored: StoredScore, score: LeadScore) -> LeadScore:
        """`score` as `load` would read it back once `save` wrote it (rounded as stored; no I/O): what a
        writer compares with the score it read to skip a write that would change nothing."""
        return _score(self._state_item(stored, score, None))

    def _state_item(self, stored: StoredScore, score: LeadScore, lead_expires: datetime | None) -> StateItem:
        states = self.states
        expires = max((t for t in (stored.expires_at, lead_expires) if t is not None), default=None)
        listed = score.worth_listing and stored.merged_into is None and not stored.erased
        owner, sla, touch = stored.sales.get("owner"), stored.sales.get("sla") or {}, score.first_touch
        item = states(
            f"LEAD#{score.lead_id}",
            STATE_SK,
            seq=stored.seq,
            absorbed=stored.absorbed or None,
            rebuilt=stored.rebuilt or None,
            version=(stored.version or 0) + 1,
            **score_attributes(score),
            weights={k: round(v, 4) for k, v in score.weights.items()}
            or ({} if score.contributions else None),
            transition_to=score.transitions[-1].to_stage.value if score.transitions else None,
            transitions=[{**transition_attributes(t), **_who_stored(t)} for t in score.transitions] or None,
            merged_into=stored.merged_into,
            handed=[{"at": at, "to": lead} for at, lead in stored.handed] or None,
            lent=stored.lent or None,
            expires_at=expires,
            owner=stored.sales.get("owner"),
            owner_at=stored.sales.get("owner_at"),
            sla=stored.sales.get("sla"),
            usage={k: [timestamp(at) for at in v] for k, v in score.usage.items()} or None,
            list_stage=score.stage.value if listed else None,
            list_owner=owner if listed and owner else None,
            updated=round(time.time() * 1000),
            channel=touch.channel.value if touch else None,
            campaign=touch.campaign if touch else None,
            sla_state=sla.get("state"),
            likelihood=_likelihood_stored(stored.likelihood),
            model_version=score.model_version,
        )
        return item

    def _transition_items(self, score: LeadScore) -> list[TransitionItem]:
        return [
            self.transitions(
                f"LEAD#{score.lead_id}",
                transition_sk(t.id),
                id=t.id,
                from_stage=t.from_stage.value,
                to_stage=t.to_stage.value,
                at=timestamp(t.at),
                score=t.score,
                reasons=[[r.label, r.points] for r in t.reasons] or None,
                first_touch=score.first_touch.to_dict() if score.first_touch else None,
                last_touch=score.last_touch.to_dict() if score.last_touch else None,
                first_seen=timestamp(score.first_seen),
                last_seen=timestamp(score.last_seen),
                page_views=score.page_views,
                sessions=score.sessions,
                unpublished=None if t.rescored else "1",
                by=t.by,
                model_version=t.model_version,
                reason=t.reason,
                amount=t.amount,
                currency=t.currency,
                hand_raiser=t.hand_raiser or None,
                fit=_fit_stored(t),
                likelihood=_likelihood_stored(t.likelihood),
                rescored=t.rescored or None,
            )
            for t in score.transitions
        ]

    def _save_with_transitions(
        self, state: StateItem, version: int | None, score: LeadScore, also: Sequence[dict[str, Any]] = ()
    ) -> None:
        """STATE and one TRANS item per transition in one TransactWriteItems: all of them or none. Only the
        rare writes that change stage pay for a transaction."""
        if version is None:
            state_condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            state_condition = {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(version)}},
            }
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": state.serialize(), **state_condition}}
        ]
        actions += [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": item.serialize(),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for item in self._transition_items(score)
        ]
        actions += also
        if not transact(actions, "writing lead state and transitions"):
            raise ConcurrentUpdate(f"lead {score.lead_id} changed while it was being scored")

    def transition_from_image(self, image: dict[str, Any]) -> tuple[LeadScore, Transition]:
        """The transition in a TRANS item's stream NewImage, and the lead as of it."""
        return _transition_record(self.transitions.from_raw_data(image))

    def history(self, lead_id: str) -> list[Transition]:
        """The lead's stage changes, oldest first (one Query of its TRANS# items: they sort in order)."""
        model = self.transitions
        with mapped_errors("reading stage changes"):
            found = model.query(
                f"LEAD#{lead_id}", model.sk.startswith(TRANSITION_PREFIX), consistent_read=True
            )
            return [_transition_record(item)[1] for item in found]

    def mark_published(self, lead_id: str, transition_id: str) -> None:
        """The transition went out: it leaves the sparse index (a MODIFY, which wakes nobody)."""
        model = self.transitions
        item = model(f"LEAD#{lead_id}", transition_sk(transition_id))
        actions = [model.unpublished.remove(), model.published_at.set(round(time.time(), 3))]
        update_unless(item, actions, model.pk.exists(), "marking a transition published")

    def unpublished(self) -> Iterator[tuple[dict[str, Any], LeadScore, Transition]]:
        """Every transition not yet published, from the sparse index (never a table scan), with its raw
        item (DynamoDB JSON, as a stream NewImage carries it)."""
        for raw in self.unpublished_items():
            if raw["sk"]["S"].startswith(TRANSITION_PREFIX):
                state, transition = self.transition_from_image(raw)
                yield raw, state, transition

    def unpublished_items(self) -> Iterator[dict[str, Any]]:
        """Every outbox item of a lead not yet published (TRANS# stage changes and OUT# lead events), raw
        (DynamoDB JSON, as a stream NewImage carries it), from the sparse index: never a table scan."""
        client = aws.client("dynamodb")
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": UNPUBLISHED_INDEX,
            "KeyConditionExpression": "unpublished = :one",
            "ExpressionAttributeValues": {":one": {"S": "1"}},
        }
        try:
            while True:
                page = client.query(**query)
                yield from page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"reading unpublished lead events failed ({exc})") from exc

    def listed(
        self,
        index: str,
        partition: str,
        start: Position | None,
        limit: int,
        since: int | None = None,
        where: Sequence[tuple[str, str, Any]] = (),
    ) -> tuple[list[Listed], Position | None]:
        """One page of an index partition (LEADS_BY_STAGE: a stage; LEADS_BY_OWNER: an owner's e-mail),
        newest first, after `start`, written at or after `since` (epoch ms): the leads and where the next
        page starts (None: the partition is done). `where`: (attribute, operator, value) conditions for
        DynamoDB's FilterExpression, all of which must hold (operators `=`, `>=`, `in`; `score >=` also
        lets through a lead with negative behaviour points, whose score rises as they fade)."""
        key = INDEX_KEYS[index]
        names = {"#key": key}
        values: dict[str, Any] = {":key": {"S": partition}}
        condition = "#key = :key"
        if since is not None:
            condition += " AND #updated >= :since"
            names["#updated"], values[":since"] = "updated", {"N": str(since)}
        filters = []
        for n, (attribute, operator, value) in enumerate(where):
            names[f"#f{n}"] = attribute
            if operator == "in":
                values.update({f":f{n}_{i}": {"S": str(v)} for i, v in enumerate(value)})
                filters.append(f"#f{n} IN ({', '.join(f':f{n}_{i}' for i in range(len(value)))})")
            elif operator == ">=" and attribute == "score":
                names["#behaviour"], values[":zero"] = "behaviour", {"N": "0"}
                values[f":f{n}"] = {"N": str(value)}
                filters.append(f"(#f{n} >= :f{n} OR #behaviour < :zero)")
            else:
                values[f":f{n}"] = {"N": str(value)} if isinstance(value, int | float) else {"S": str(value)}
                filters.append(f"#f{n} {operator} :f{n}")
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
        if start is not None:
            query["ExclusiveStartKey"] = {
                "pk": {"S": f"LEAD#{start[1]}"},
                "sk": {"S": STATE_SK},
                key: {"S": partition},
                "updated": {"N": str(start[0])},
            }
        try:
            page = aws.client("dynamodb").query(**query)
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"listing leads failed ({type(exc).__name__})") from exc
        last = page.get("LastEvaluatedKey")
        after = (int(last["updated"]["N"]), last["pk"]["S"].removeprefix("LEAD#")) if last else None
        return [self._listed(self.states.from_raw_data(raw)) for raw in page.get("Items", [])], after

    def listed_many(self, lead_ids: Iterable[str]) -> list[Listed]:
        """The leads worth listing among `lead_ids` (an account's members): BatchGetItem requests of 100
        of their STATE; one merged, erased or not worth listing is left out, as the indexes leave it out."""
        wanted = [(f"LEAD#{lead}", STATE_SK) for lead in dict.fromkeys(lead_ids)]
        with mapped_errors("reading leads to list"):
            found = list(self.states.batch_get(wanted)) if wanted else []
        return [self._listed(item) for item in found if item.list_stage is not None]

    def likelihoods(self, lead_ids: Iterable[str]) -> dict[str, Likelihood]:
        """lead -> the predictive likelihood on its STATE, for those of `lead_ids` that have one (BatchGetItem
        requests of 100, of that attribute only): the listing indexes do not project it."""
        wanted = [(f"LEAD#{lead}", STATE_SK) for lead in dict.fromkeys(lead_ids)]
        with mapped_errors("reading likelihoods"):
            found = (
                list(self.states.batch_get(wanted, attributes_to_get=["pk", "likelihood"])) if wanted else []
            )
        return {
            item.pk.removeprefix("LEAD#"): likelihood
            for item in found
            if (likelihood := _likelihood(item.likelihood)) is not None
        }

    @staticmethod
    def _listed(item: StateItem) -> Listed:
        return Listed(_score(item), int(item.updated or 0), _sales(item), _likelihood(item.likelihood))

    def scores(self) -> Iterator[LeadScore]:
        """Every scored lead (a full scan: for reports, never on a request path)."""
        with mapped_errors("scanning lead states"):
            for item in self.states.scan(self.states.sk == STATE_SK):
                if item.stage is not None and item.merged_into is None:
                    yield _score(item)
