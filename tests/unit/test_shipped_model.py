"""The contract of the shipped scoring.yaml: whatever its numbers, it loads, it reads well to sales, and the
demo journey of the README makes an SQL while an anonymous visitor never becomes one.

Tune the points freely; these tests fail only when a change breaks what the product promises.
"""

from collections.abc import Iterator

import pytest
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import BehaviourRule, ScoringModel, Threshold
from leadstream.scoring.model_file import load_model
from leadstream.tracking.events import BehaviourEvent, EventType

from tests.unit.builders import T0, event, form, identify, new_lead, page, scored


@pytest.fixture(scope="module")
def shipped() -> ScoringModel:
    return load_model()


def threshold(model: ScoringModel, stage: Stage) -> Threshold:
    return next(t for t in model.stages if t.stage is stage)


def test_the_shipped_model_loads_with_unique_rule_ids(shipped: ScoringModel) -> None:
    ids = [r.id for r in shipped.behaviour] + [r.id for r in shipped.fit]

    assert ids
    assert len(ids) == len(set(ids))


def test_every_rule_has_a_label_sales_can_read(shipped: ScoringModel) -> None:
    for rule in [*shipped.behaviour, *shipped.fit]:
        assert rule.label.strip(), f"rule {rule.id!r} has no label: sales would see its id"


def test_the_stages_are_mql_then_sql_and_sql_needs_a_known_contact(shipped: ScoringModel) -> None:
    mql, sql = threshold(shipped, Stage.MQL), threshold(shipped, Stage.SQL)

    assert 0 < mql.min_score < sql.min_score
    assert sql.requires_known, "sales cannot call an anonymous visitor"


def test_the_readme_demo_journey_reaches_sql(shipped: ScoringModel) -> None:
    """Read the blog, look at pricing (twice), request a demo with a work e-mail and a senior title."""
    lead = scored(
        shipped,
        page("/demo/blog/speed-to-lead.html"),
        page("/demo/pricing.html"),
        page("/demo/pricing.html"),
        form("demo-request", email_kind="work", title="VP Marketing"),
    )

    assert lead.stage is Stage.SQL
    assert lead.transitions[-1].to_stage is Stage.SQL
    assert lead.transitions[-1].reasons, "the SQL notification must say why"


def _events_matching(rule: BehaviourRule) -> Iterator[BehaviourEvent]:
    """Events an anonymous visitor can send that this rule scores (never an e-mail address)."""
    match = rule.match
    event_type = match.type or EventType.PAGE
    if event_type is EventType.IDENTIFY:
        return
    path = (match.path or "/").replace("*", "").replace("?", "x") or "/"
    for _ in range(rule.max_times or 10):
        yield event(event_type, T0, path=path, name=match.name, form_id=match.form_id)


def test_an_anonymous_visitor_never_becomes_sql_whatever_they_do(shipped: ScoringModel) -> None:
    everything = [e for rule in shipped.behaviour if rule.points > 0 for e in _events_matching(rule)]

    lead = scored(shipped, *everything, identify(title="VP Marketing"), state=new_lead())

    assert lead.score_at(shipped, T0) >= threshold(shipped, Stage.SQL).min_score, (
        "the anonymous visitor must earn an SQL's score for this test to mean anything"
    )
    assert lead.known is False
    assert lead.stage is not Stage.SQL


def test_every_hand_raise_and_pql_rule_has_a_label_sales_can_read(shipped: ScoringModel) -> None:
    assert shipped.hand_raise, "the shipped model sends hand-raisers to sales"
    assert shipped.pql, "the shipped model makes PQLs of product usage"
    for rule in [*shipped.hand_raise, *shipped.pql]:
        assert rule.label.strip(), f"rule {rule.id!r} has no label: sales would see its id"


def test_a_gmail_founder_requesting_a_demo_reaches_sales_as_a_hand_raiser(shipped: ScoringModel) -> None:
    """Issue 9: the founder's score stays under SQL's (free e-mail), and still reaches a rep."""
    lead = scored(
        shipped, page("/demo/pricing.html"), form("demo-request", email_kind="free", title="Founder")
    )

    assert lead.score_at(shipped, T0) < threshold(shipped, Stage.SQL).min_score
    assert lead.stage is Stage.SQL
    assert lead.transitions[-1].hand_raiser is True
