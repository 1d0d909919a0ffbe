"""The sales API through `make run`'s runner: the JWT authorizer enforced at the gateway as API Gateway
enforces it, the local users make run creates, `cli token`, the LeadCard, the OpenAPI document, and the
actions on a lead (this runner's stack is configured with QualificationFramework=MEDDIC)."""

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from leadstream.identity.identifiers import device_lead, identifiers
from moto.utilities.utils import load_resource
from openapi_spec_validator import validate

from local.aws import clients, create_user, local_password
from local.runner import DEMO_WRITE_KEY
from tests.pipeline.harness import REPO, Answer, Runner, eventually
from tests.pipeline.test_pipeline import ANON, visitor_journey

pytestmark = pytest.mark.slow
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    run = Runner(tmp_path_factory.mktemp("sales"), "--parameter", "QualificationFramework=MEDDIC")
    run.wait_ready()
    yield run
    run.stop()


def printed_password(run: Runner, email: str) -> str:
    """The password make run printed for a local user."""
    found = re.search(rf"{re.escape(email)}\s+password (\S+)", run.log_path.read_text())
    assert found, run.log_path.read_text()
    return found.group(1)


def cli_token(run: Runner, email: str, password: str, *options: str) -> subprocess.CompletedProcess[str]:
    """`python -m cli token`, as a developer runs it against this runner, the password on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "--endpoint", run.endpoint, "token", "--user", email, *options],
        cwd=REPO,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def token(run: Runner, email: str) -> str:
    signed_in = cli_token(run, email, printed_password(run, email), "--password-stdin")
    assert signed_in.returncode == 0, signed_in.stderr
    return signed_in.stdout.strip()


def card(run: Runner, lead_id: str, bearer: str | None) -> Answer:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return run.request("GET", f"/api/leads/{lead_id}", headers=headers)


def pool_and_client(run: Runner) -> tuple[str, str]:
    cognito = clients(run.endpoint, REGION)["cognito-idp"]
    [pool] = [p for p in cognito.list_user_pools(MaxResults=10)["UserPools"] if p["Name"].endswith("-sales")]
    [client] = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=10)["UserPoolClients"]
    return str(pool["Id"]), str(client["ClientId"])


@pytest.fixture(scope="module")
def sql_lead(runner: Runner) -> str:
    """The demo journey's lead, once scoring made it an SQL (the tracking routes take no token)."""
    assert visitor_journey(runner) == [200, 200, 303]
    lead = device_lead(identifiers(ANON, None, None))
    bearer = token(runner, "sales@example.com")

    def is_sql() -> bool:
        answer = card(runner, lead, bearer)
        return answer.status == 200 and answer.json()["stage"] == "SQL"

    assert eventually(is_sql), runner.log_path.read_text()
    return lead


def unauthorized(answer: Answer) -> bool:
    return (answer.status, answer.json()) == (401, {"message": "Unauthorized"}) and bool(
        answer.header("www-authenticate")
    )


def test_without_a_valid_token_the_gateway_answers_401_and_the_function_is_not_invoked(
    runner: Runner, sql_lead: str
) -> None:
    pool, client = pool_and_client(runner)
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool}"
    now = int(time.time())
    # moto signs every pool's tokens with one key: a token signed with it, but expired
    moto_key = RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    claims = {
        "sub": "x",
        "iss": issuer,
        "client_id": client,
        "token_use": "access",
        "cognito:groups": ["sales"],
    }
    expired = jwt.encode(
        {"alg": "RS256", "kid": "dummy"}, {**claims, "exp": now - 60, "iat": now - 3660}, moto_key
    )
    forged = jwt.encode(
        {"alg": "RS256", "kid": "dummy"}, {**claims, "exp": now + 600}, RSAKey.generate_key(2048)
    )
    # a real token of another user pool (same local AWS, same signing key: only its issuer differs)
    cognito = clients(runner.endpoint, REGION)["cognito-idp"]
    other = cognito.create_user_pool(PoolName="elsewhere")["UserPool"]["Id"]
    other_client = cognito.create_user_pool_client(
        UserPoolId=other, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    password = local_password()
    create_user(cognito, other, "sales@example.com", password, [])
    elsewhere = cognito.initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "sales@example.com", "PASSWORD": password},
    )["AuthenticationResult"]["AccessToken"]
    before = runner.log_path.read_text().count("(ApiFunction,")

    for bearer in (None, "", "garbage", "a.b.c", expired, forged, elsewhere):
        assert unauthorized(card(runner, sql_lead, bearer)), bearer

    log = runner.log_path.read_text()
    assert log.count("(ApiFunction,") == before  # refused at the gateway
    assert "SalesAuthorizer: the token has expired" in log
    assert "SalesAuthorizer: the token does not have a valid issuer" in log


def test_a_sales_token_from_cli_token_reads_the_card(runner: Runner, sql_lead: str) -> None:
    answer = card(runner, sql_lead, token(runner, "sales@example.com"))

    assert answer.status == 200, answer.body
    read = answer.json()
    assert read["lead_id"] == sql_lead
    assert read["contact"]["email"] == "jane@acme.example"
    assert read["stage"] == "SQL"
    assert [c["to_stage"] for c in read["stage_history"]] == ["SQL"]
    assert read["activity"][0]["form_id"] == "demo-request"


def test_marketing_reads_too_and_its_id_token_works_as_well(runner: Runner, sql_lead: str) -> None:
    password = printed_password(runner, "marketing@example.com")
    id_token = cli_token(runner, "marketing@example.com", password, "--password-stdin", "--id")

    assert id_token.returncode == 0, id_token.stderr
    assert card(runner, sql_lead, id_token.stdout.strip()).status == 200


def test_a_wrong_password_is_a_clear_error(runner: Runner) -> None:
    refused = cli_token(runner, "sales@example.com", "not-the-password", "--password-stdin")

    assert refused.returncode == 1
    assert "NotAuthorizedException" in refused.stderr
    assert refused.stdout == ""


def test_the_openapi_document_is_public_valid_openapi_3_and_names_the_leadcard(runner: Runner) -> None:
    answer = runner.request("GET", "/api/openapi.json")

    assert answer.status == 200
    document: dict[str, Any] = answer.json()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "LeadCard" in document["components"]["schemas"]
    assert "/api/leads/{lead_id}" in document["paths"]


def test_the_banner_tells_how_to_sign_in(runner: Runner) -> None:
    log = runner.log_path.read_text()

    assert "python -m cli token --user sales@example.com" in log
    assert f"{runner.base}/api/docs" in log
    assert re.search(r"marketing@example\.com\s+password \S+\s+\(marketing\)", log)


def id_token(run: Runner, email: str) -> str:
    """The ID token (it carries the user's e-mail: who acts)."""
    signed_in = cli_token(run, email, printed_password(run, email), "--password-stdin", "--id")
    assert signed_in.returncode == 0, signed_in.stderr
    return signed_in.stdout.strip()


def another_sql(run: Runner, anonymous_id: str, email: str) -> str:
    """A second visitor (pricing, then the demo form), scored to SQL: a lead of this test's own."""
    page = {
        "type": "page",
        "anonymousId": anonymous_id,
        "messageId": f"pricing-{anonymous_id}",
        "context": {"page": {"path": "/demo/pricing.html", "url": f"{run.base}/demo/pricing.html"}},
        "writeKey": DEMO_WRITE_KEY,
    }
    assert run.post("/v1/p", json.dumps(page).encode(), "text/plain", auth=False) == 200
    form = f"name=Sam&email={email}&company=Acme&title=Head+of+Sales&anonymousId={anonymous_id}".encode()
    assert run.post("/v1/forms/demo-request", form, "application/x-www-form-urlencoded") in (200, 303)
    lead = device_lead(identifiers(anonymous_id, None, None))
    bearer = token(run, "sales@example.com")
    assert eventually(lambda: (card(run, lead, bearer).json() or {}).get("stage") == "SQL", 30), (
        run.log_path.read_text()
    )
    return lead


def post(run: Runner, path: str, bearer: str, body: dict[str, Any] | None = None, **headers: str) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Authorization": f"Bearer {bearer}", "content-type": "application/json", **headers}
    return run.request("POST", path, body=data, headers=sent)


def test_accept_over_http_with_an_id_token_moves_the_lead_once_per_idempotency_key(runner: Runner) -> None:
    lead = another_sql(runner, "6d0f9c1e-0000-4000-8000-0000000000a1", "sam%40acme.example")
    bearer = id_token(runner, "sales@example.com")

    first = post(runner, f"/api/leads/{lead}/accept", bearer, **{"Idempotency-Key": "accept-1"})
    again = post(runner, f"/api/leads/{lead}/accept", bearer, **{"Idempotency-Key": "accept-1"})

    assert first.status == 200, first.body
    assert again.status == 200, again.body
    assert again.json() == first.json()
    read = card(runner, lead, bearer).json()
    assert read["stage"] == "accepted"
    assert [(c["to_stage"], c["by"]) for c in read["stage_history"]] == [
        ("SQL", "scoring"),
        ("accepted", "sales@example.com"),
    ]


def test_marketing_cannot_accept_and_an_access_token_is_told_to_send_the_id_token(
    runner: Runner, sql_lead: str
) -> None:
    marketing = id_token(runner, "marketing@example.com")
    access = token(runner, "sales@example.com")

    assert post(runner, f"/api/leads/{sql_lead}/accept", marketing).status == 403
    told = post(runner, f"/api/leads/{sql_lead}/accept", access)
    assert told.status == 403
    assert "ID token" in told.json()["error"]
    assert post(runner, f"/api/leads/{sql_lead}/accept", "").status == 401


def test_meddic_from_the_stack_parameter_refuses_opportunity_until_its_required_answers(
    runner: Runner,
) -> None:
    lead = another_sql(runner, "6d0f9c1e-0000-4000-8000-0000000000a2", "kim%40acme.example")
    bearer = id_token(runner, "sales@example.com")
    framework = runner.request("GET", "/api/qualification", headers={"Authorization": f"Bearer {bearer}"})
    assert framework.json()["framework"] == "MEDDIC"
    assert post(runner, f"/api/leads/{lead}/accept", bearer).status == 200
    some = {"metrics": "reply within 5 minutes", "economic_buyer": "the CFO", "identify_pain": "cold leads"}
    assert post(runner, f"/api/leads/{lead}/qualify", bearer, {"answers": some}).status == 200

    refused = post(runner, f"/api/leads/{lead}/progress", bearer, {"stage": "opportunity"})

    assert refused.status == 409
    assert refused.json()["missing"] == ["champion"]
    answered = post(runner, f"/api/leads/{lead}/qualify", bearer, {"answers": {"champion": "Priya"}})
    assert answered.json()["qualification"]["missing_required"] == []
    moved = post(runner, f"/api/leads/{lead}/progress", bearer, {"stage": "opportunity"})
    assert (moved.status, moved.json()["stage"]) == (200, "opportunity")
