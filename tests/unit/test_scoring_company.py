"""A lead's company by IP: the business its latest visit's network names, carried on its score (no I/O)."""

from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import merge, rebuild
from leadstream.tracking.events import EventType

from tests.unit.builders import day, event, new_lead, page, scored


def visit(path: str, company: str | None, at_day: float = 0):
    return event(EventType.PAGE, day(at_day), path=path, company=company)


def test_the_latest_visits_company_is_the_leads(model: ScoringModel) -> None:
    lead = scored(model, visit("/", "acme.com", 0), visit("/pricing", "initech.com", 1))

    assert lead.company == "initech.com"


def test_a_visit_from_no_business_keeps_the_company_known(model: ScoringModel) -> None:
    lead = scored(model, visit("/", "acme.com", 0), page("/pricing", at=day(1)))  # from home: an ISP

    assert lead.company == "acme.com"


def test_a_late_event_does_not_replace_a_newer_visits_company(model: ScoringModel) -> None:
    lead = scored(model, visit("/", "acme.com", 2))
    lead = scored(model, visit("/old", "initech.com", 1), state=lead)

    assert lead.company == "acme.com"


def test_a_merged_history_brings_its_company_when_the_root_has_none(model: ScoringModel) -> None:
    root = scored(model, page("/about"), state=new_lead("Lroot"))
    phone = scored(model, visit("/pricing", "acme.com"), state=new_lead("Lphone"))

    assert merge(model, root, phone).company == "acme.com"
    assert merge(model, phone, root).company == "acme.com"


def test_a_rebuild_keeps_the_company(model: ScoringModel) -> None:
    lead = scored(model, visit("/", "acme.com"))

    assert rebuild(model, lead, [visit("/", "acme.com")]).company == "acme.com"
    assert rebuild(model, lead, []).company == "acme.com"  # its events expired
