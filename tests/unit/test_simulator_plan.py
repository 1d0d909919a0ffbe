"""The demo-data plan (local/simulator/plan.py): deterministic in its seed, shaped like a real funnel, and
with a hidden propensity that drives both what visitors do and how their deals end."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from statistics import mean
from urllib.parse import parse_qsl, urlsplit

import pytest
from leadstream.tracking.attribution import classify

from local.simulator.plan import CHANNELS, Plan, Visitor, plan

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> Plan:
    return plan(seed=7, visitors=300, now=NOW)


def _attributed(visitor: Visitor) -> str:
    """The channel the tracking intake gives the visitor's first page view (as ingest reads a page)."""
    page = visitor.messages[0]["context"]["page"]
    parts = urlsplit(page["url"])
    query = dict(parse_qsl(parts.query))
    campaign = {k.removeprefix("utm_"): v for k, v in query.items() if k.startswith("utm_")}
    return classify(campaign, query, page.get("referrer"), parts.hostname, parts.path).channel.value


def test_the_same_seed_and_time_give_the_same_plan_message_for_message(demo: Plan) -> None:
    assert plan(seed=7, visitors=300, now=NOW).messages() == demo.messages()


def test_another_seed_gives_another_history(demo: Plan) -> None:
    other = plan(seed=8, visitors=300, now=NOW)

    assert {m["messageId"] for m in other.messages()}.isdisjoint(m["messageId"] for m in demo.messages())
    assert [v.company.domain for v in other.visitors] != [v.company.domain for v in demo.visitors]


def test_a_later_run_keeps_the_people_and_the_message_ids_of_the_history_before_it(demo: Plan) -> None:
    later = plan(seed=7, visitors=300, now=NOW + timedelta(hours=3))

    assert [v.person for v in later.visitors] == [v.person for v in demo.visitors]
    ids = {m["messageId"] for m in later.messages()}
    assert {m["messageId"] for m in demo.messages()} <= ids


def test_every_event_lies_in_the_period_before_now_and_ids_are_unique(demo: Plan) -> None:
    messages = demo.messages()
    times = [datetime.fromisoformat(m["timestamp"]) for m in messages]

    assert min(times) >= NOW - timedelta(days=90)
    assert max(times) <= NOW
    assert times == sorted(times)
    assert len({m["messageId"] for m in messages}) == len(messages)
    assert min(v.first_seen for v in demo.visitors) < NOW - timedelta(days=60)  # the history is long


def test_visitors_arrive_through_every_channel_the_attribution_knows_as_planned(demo: Plan) -> None:
    planned = Counter(v.channel for v in demo.visitors)

    assert set(planned) == {channel for channel, _, _ in CHANNELS}
    assert all(count >= 10 for count in planned.values()), planned
    assert all(_attributed(v) == v.channel for v in demo.visitors)


def test_companies_differ_in_size_and_industry_and_send_several_people(demo: Plan) -> None:
    assert {c.size for c in demo.companies} == {"micro", "small", "mid-market", "enterprise"}
    assert len({c.industry for c in demo.companies}) >= 8
    assert len({c.country for c in demo.companies}) >= 5
    people = Counter(v.company.domain for v in demo.known())
    assert max(people.values()) >= 4  # a buying committee to show
    assert all(v.person.email.endswith("@" + v.company.domain) for v in demo.known() if v.person)


def test_the_history_holds_reading_pricing_identifies_product_usage_and_hand_raisers(demo: Plan) -> None:
    messages = demo.messages()
    paths = Counter(m["context"].get("page", {}).get("path", "") for m in messages if m["type"] == "page")
    events = Counter(m.get("event") for m in messages if m["type"] == "track")

    assert paths["/pricing"] > 50
    assert sum(n for p, n in paths.items() if p.startswith("/blog/")) > 200
    assert sum(n for p, n in paths.items() if p.startswith("/docs/")) > 100
    assert 100 < len(demo.known()) < 280  # many identify, some stay anonymous
    assert events["Contact Sales"] == sum(v.hand_raiser for v in demo.visitors) >= 15
    assert all(events[name] for name in ("Project Created", "Teammate Invited", "Premium Feature Used"))


def test_sales_wins_and_loses_deals_with_amounts(demo: Plan) -> None:
    decisions = [v.sales for v in demo.known()]
    ends = Counter(d.stage for d in decisions)

    assert min(ends["won"], ends["rejected"]) >= 10
    assert min(ends["lost"], ends["accepted"]) >= 5
    assert all(d.amount and d.amount > 0 for d in decisions if d.outcome)
    assert all(d.reject_reason for d in decisions if not d.accept)


def test_propensity_drives_both_behaviour_and_outcome(demo: Plan) -> None:
    known = demo.known()
    won = [v.propensity for v in known if v.sales.stage == "won"]
    rejected = [v.propensity for v in known if v.sales.stage == "rejected"]
    raisers = [v.propensity for v in known if v.hand_raiser]
    quiet = [v.propensity for v in known if not v.hand_raiser]
    busy = sorted(demo.visitors, key=lambda v: len(v.messages))

    assert mean(won) > mean(rejected) + 0.1
    assert mean(raisers) > mean(quiet) + 0.1
    assert mean(v.propensity for v in busy[-50:]) > mean(v.propensity for v in busy[:50]) + 0.1


def test_each_visitors_history_is_sent_whole_in_one_batch_in_order(demo: Plan) -> None:
    """Batches go two at a time: a visitor split across two could be stored (and scored) out of order."""
    batches = demo.batches(50)
    longest = max(demo.visitors, key=lambda v: len(v.messages))
    assert len(longest.messages) > 50  # the plan has a visitor longer than a batch: the case that matters
    batch_of = {m["messageId"]: n for n, batch in enumerate(batches) for m in batch}
    for visitor in demo.visitors:
        assert len({batch_of[m["messageId"]] for m in visitor.messages}) == 1, visitor.key
    sent = sorted(m["messageId"] for b in batches for m in b)
    assert sent == sorted(m["messageId"] for m in demo.messages())
    assert all(len(b) <= max(50, len(longest.messages)) for b in batches)
