"""The predictive likelihood in the web app, in headless Chromium against a runner started with a test
artifact (`--parameter PredictiveModelFile=<its absolute path>`, as `make run ARGS=...` passes it): the
LeadCard shows it beside the rules score with the features that moved it, a driver's label as text; the
leads list has a column for it; both fit a phone."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import yaml
from leadstream.predictive.model import PredictiveModel, Weight
from playwright.sync_api import BrowserContext, expect

from tests.browser.leads import demo_request
from tests.browser.webapp import PHONE, scrolls_sideways, signed_in
from tests.pipeline.harness import Runner, eventually
from tests.pipeline.test_sales_api import card, id_token

pytestmark = pytest.mark.slow

FIRST_LOAD_MS = 20_000
HOSTILE_LABEL = '<img src=x onerror="window.hacked=1"> Pricing'
ARTIFACT = PredictiveModel(
    version=4,
    label="reached opportunity or won within 90 days of becoming a lead",
    horizon_days=90,
    trained_at=datetime(2026, 11, 1, tzinfo=UTC),
    scoring_model=1,
    intercept=-1.0,
    weights=(
        Weight(feature="rule:pricing_page", label=HOSTILE_LABEL, weight=1.0, mean=0.2, scale=0.5),
        Weight(feature="fit:free_email", label="Free e-mail address", weight=-0.8, mean=0.5, scale=0.5),
        Weight(feature="channel:paid search", label="Came by paid search", weight=0.4, mean=0.5, scale=0.5),
    ),
)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """A runner whose ScoreFunction has the test artifact (this module's own: the others run without)."""
    folder = tmp_path_factory.mktemp("likelihood")
    artifact = folder / "likelihood.yaml"
    artifact.write_text(yaml.safe_dump(ARTIFACT.model_dump(mode="json"), sort_keys=False))
    run = Runner(folder, "--parameter", f"PredictiveModelFile={artifact}")
    try:
        run.wait_ready(300)  # a loaded machine: as the simulated runners wait
        yield run
    finally:
        run.stop()


@pytest.fixture(scope="module")
def lead(runner: Runner) -> str:
    """A demo request (pricing, then the form with a work e-mail), scored and handed to sales."""
    made = demo_request(
        runner, "5e1d0000-0000-4000-8000-00000000d001", email="lena@initech.example", name="Lena"
    )
    bearer = id_token(runner, "sales@example.com")
    assert eventually(lambda: card(runner, made, bearer).json().get("likelihood") is not None, 30), (
        runner.log_path.read_text()
    )
    return made


def percent(runner: Runner, lead: str) -> str:
    found = card(runner, lead, id_token(runner, "sales@example.com")).json()["likelihood"]
    return f"{round(found['probability'] * 100)}%"


def test_the_leadcard_shows_the_likelihood_beside_the_score_with_what_moved_it_as_text(
    runner: Runner, context: BrowserContext, lead: str
) -> None:
    page = signed_in(context, runner, "sales@example.com")
    page.goto(f"{runner.base}/app#/leads/{lead}")
    head = page.locator("header.lead-head")

    expect(head).to_contain_text(f"Likelihood to close {percent(runner, lead)}", timeout=FIRST_LOAD_MS)
    drivers = page.get_by_role("list", name="What moved the likelihood")
    # pricing raised it, no free e-mail raised it too (the average lead had one), channel direct lowered it
    expect(drivers.get_by_role("listitem")).to_have_text(
        [
            f"{HOSTILE_LABEL} ↑ raised it",
            "Free e-mail address ↑ raised it",
            "Came by paid search ↓ lowered it",
        ]
    )
    expect(page.get_by_role("region", name="Why the score")).to_contain_text("only the score moves stages")
    expect(page.locator("main img")).to_have_count(0)
    assert page.evaluate("window.hacked") is None

    page.set_viewport_size(PHONE)
    expect(drivers).to_be_visible()
    assert not scrolls_sideways(page)


def test_the_leads_list_has_a_likelihood_column(runner: Runner, context: BrowserContext, lead: str) -> None:
    page = signed_in(context, runner, "sales@example.com")
    page.goto(f"{runner.base}/app#/leads")

    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader", name="Likelihood to close")).to_be_visible(timeout=FIRST_LOAD_MS)
    row = table.get_by_role("row").filter(has_text="Lena")
    expect(row.get_by_role("cell").nth(3)).to_have_text(percent(runner, lead))

    page.set_viewport_size(PHONE)
    expect(row).to_contain_text(percent(runner, lead))
    assert not scrolls_sideways(page)
