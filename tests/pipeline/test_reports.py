"""The reports through `make run`'s runner: the demo journey's SQL, published by PublishFunction, is a
hand-over waiting for sales and an SQL of its first touch (e-mail), read with a token over HTTP."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.pipeline.harness import Runner, eventually
from tests.pipeline.test_sales_api import sql_lead, token

pytestmark = pytest.mark.slow
__all__ = ["sql_lead"]  # the fixture: the demo journey's lead, once it is an SQL


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    run = Runner(tmp_path_factory.mktemp("reports"))
    run.wait_ready()
    yield run
    run.stop()


def read(run: Runner, path: str, bearer: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    answer = run.request("GET", path, headers=headers)
    return answer.status, answer.json()


def test_the_demo_sql_is_in_both_reports_for_marketing_and_no_token_is_refused(
    runner: Runner, sql_lead: str
) -> None:
    bearer = token(runner, "marketing@example.com")

    def handed_over() -> Any:
        status, speed = read(runner, "/api/reports/speed-to-lead", bearer)
        return speed if status == 200 and speed["total"]["handovers"] == 1 else None

    speed = eventually(handed_over)
    assert speed, runner.log_path.read_text()
    assert (speed["total"]["waiting"], speed["total"]["acted"]) == (1, 0)
    assert [(r["channel"], r["handovers"]) for r in speed["by_channel"]] == [("email", 1)]

    status, quality = read(runner, "/api/reports/source-quality?by=channel", bearer)
    assert status == 200
    [row] = quality["rows"]
    assert (row["channel"], row["mqls"], row["sqls"], row["accepted"]) == ("email", 1, 1, 0)

    assert read(runner, "/api/reports/source-quality", None)[0] == 401
