"""The sales API's lists through `make run`'s runner: a token from `cli token`, the demo journey's lead in
GET /api/leads once scoring made it an SQL, its account's card, and the gateway's 401 without a token."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from leadstream.identity.identifiers import device_lead, identifiers

from tests.pipeline.harness import Answer, Runner, eventually
from tests.pipeline.test_pipeline import ANON, visitor_journey
from tests.pipeline.test_sales_api import token

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    run = Runner(tmp_path_factory.mktemp("lists"))
    run.wait_ready()
    yield run
    run.stop()


def get(run: Runner, path: str, bearer: str | None) -> Answer:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return run.request("GET", path, headers=headers)


def test_the_demo_journeys_sql_is_listed_for_a_signed_in_rep_with_its_account(runner: Runner) -> None:
    assert visitor_journey(runner) == [200, 200, 303]
    lead = device_lead(identifiers(ANON, None, None))
    bearer = token(runner, "sales@example.com")

    def sql_rows() -> list[dict[str, Any]]:
        answer = get(runner, "/api/leads?stage=SQL&channel=email&min_score=1", bearer)
        assert answer.status == 200, answer.body
        return list(answer.json()["leads"])

    rows = eventually(sql_rows)
    assert [r["lead_id"] for r in rows] == [lead], runner.log_path.read_text()
    [row] = rows
    assert (row["name"], row["company"], row["account"]) == ("Jane Doe", "Acme", "acme.example")
    assert row["campaign"] is None
    assert get(runner, "/api/leads?stage=MQL", bearer).json()["leads"] == []

    def account_card() -> Any:
        answer = get(runner, "/api/accounts/" + quote("acme.example"), bearer)
        return answer.json() if answer.status == 200 and answer.json()["people_known"] else None

    card = eventually(account_card)
    assert card is not None, runner.log_path.read_text()
    assert [p["lead_id"] for p in card["people_known"]] == [lead]
    listed = get(runner, "/api/accounts", bearer).json()["accounts"]
    assert "acme.example" in [a["domain"] for a in listed]


@pytest.mark.parametrize("path", ["/api/leads", "/api/accounts", "/api/accounts/acme.example"])
def test_without_a_token_the_gateway_answers_401(runner: Runner, path: str) -> None:
    answer = get(runner, path, None)

    assert (answer.status, answer.json()) == (401, {"message": "Unauthorized"})
