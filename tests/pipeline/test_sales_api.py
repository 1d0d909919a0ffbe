"""The sales API through `make run`'s runner: the JWT authorizer enforced at the gateway as API Gateway
enforces it, the local users make run creates, `cli token`, the LeadCard and the OpenAPI document."""

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
from tests.pipeline.harness import REPO, Answer, Runner, eventually
from tests.pipeline.test_pipeline import ANON, visitor_journey

pytestmark = pytest.mark.slow
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    run = Runner(tmp_path_factory.mktemp("sales"))
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
