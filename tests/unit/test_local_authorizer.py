"""The local runner's JWT authorizer refuses what API Gateway's refuses, and hands the function the claims
as payload 2.0 carries them (local/authorizer.py). Keys and tokens are made here; no network."""

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from local.authorizer import Authorized, Denied, IssuerKeys, JwtAuthorizer, authorize

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool"
CLIENT = "client-1"
AUTHORIZER = JwtAuthorizer("SalesAuthorizer", ISSUER, (CLIENT,))
NOW = 1_800_000_000.0
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, another key


class Issuer:
    """An OpenID issuer's discovery document and JWKS, counting the fetches."""

    def __init__(self, *keys: RSAKey) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def __call__(self, url: str) -> Any:
        self.fetches += 1
        if url == f"{ISSUER}/.well-known/openid-configuration":
            return {"issuer": ISSUER, "jwks_uri": "https://keys.example/jwks.json"}
        assert url == "https://keys.example/jwks.json", url
        return KeySet(self.keys).as_dict(private=False)


def token(key: Any = KEY, alg: str = "RS256", header: dict[str, Any] | None = None, **changes: Any) -> str:
    claims = {
        "sub": "user-1",
        "iss": ISSUER,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin leads/read",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 3600,
        "cognito:groups": ["sales", "admin"],
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": "k1", **(header or {})}, claims, key)


def check(
    value: str | None, scopes: tuple[str, ...] = (), keys: IssuerKeys | None = None, now: float = NOW
) -> Authorized:
    headers = {} if value is None else {"authorization": value}
    return authorize(AUTHORIZER, scopes, headers, keys or IssuerKeys(Issuer(KEY), lambda: now), now)


def refused(value: str | None, **kwargs: Any) -> Denied:
    with pytest.raises(Denied) as denied:
        check(value, **kwargs)
    return denied.value


def test_a_valid_access_token_passes_with_its_claims_as_strings() -> None:
    authorized = check(f"Bearer {token()}")

    assert authorized.claims["sub"] == "user-1"
    assert authorized.claims["cognito:groups"] == "[sales admin]"
    assert authorized.claims["exp"] == str(int(NOW) + 3600)
    assert authorized.scopes is None  # the route asks for no scopes


def test_the_token_may_come_without_the_bearer_prefix() -> None:
    assert check(token()).claims["sub"] == "user-1"


def test_an_id_token_passes_on_its_aud() -> None:
    assert check(f"Bearer {token(client_id=None, aud=CLIENT, token_use='id')}").claims["aud"] == CLIENT


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "no token"),
        ("Bearer ", "no token"),
        ("Bearer not.a.jwt", "not a JWT"),
        ("Basic bHNrXzE6", "not a JWT"),
    ],
)
def test_no_token_or_garbage_is_401(value: str | None, why: str) -> None:
    denied = refused(value)

    assert denied.status == 401
    assert why in str(denied)
    assert 'error="invalid_token"' in denied.www_authenticate


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other"}, "issuer"),
        ({"client_id": "another-client"}, "audience"),
        ({"client_id": None}, "audience"),
        ({"aud": "another-client"}, "audience"),  # aud wins: client_id is looked at only without one
        ({"exp": int(NOW) - 1}, "expired"),
        ({"exp": None}, "expired"),
        ({"exp": "tomorrow"}, "not a number"),
        ({"nbf": int(NOW) + 60}, "not valid yet"),
        ({"iat": int(NOW) + 60}, "future"),
    ],
)
def test_a_claim_api_gateway_refuses_is_401(changes: dict[str, Any], why: str) -> None:
    denied = refused(f"Bearer {token(**changes)}")

    assert (denied.status, why in str(denied)) == (401, True), str(denied)


def test_a_token_signed_by_another_key_is_401() -> None:
    assert "signature" in str(refused(f"Bearer {token(OTHER_KEY)}"))


def test_a_token_whose_kid_names_no_key_of_the_issuer_is_401() -> None:
    assert "kid" in str(refused(f"Bearer {token(header={'kid': 'k2'})}"))


def test_a_token_signed_with_a_shared_secret_is_401_whatever_its_claims() -> None:
    secret = OctKey.generate_key(256, parameters={"kid": "k1"})

    assert "RSA" in str(refused(f"Bearer {token(secret, alg='HS256')}"))


def test_an_unsigned_token_is_401() -> None:
    header, payload, _signature = token().split(".")

    assert "signature" in str(refused(f"Bearer {header}.{payload}."))


def test_route_scopes_need_one_of_them_in_the_token_else_403() -> None:
    allowed = check(f"Bearer {token()}", scopes=("leads/write", "leads/read"))
    denied = refused(f"Bearer {token()}", scopes=("leads/write",))

    assert allowed.scopes == ["aws.cognito.signin.user.admin", "leads/read"]
    assert denied.status == 403
    assert 'error="insufficient_scope"' in denied.www_authenticate


def test_the_issuers_keys_are_kept_and_fetched_again_for_a_new_kid() -> None:
    issuer = Issuer(KEY)
    now = [NOW]
    keys = IssuerKeys(issuer, lambda: now[0])
    check(token(), keys=keys)
    check(token(), keys=keys)
    assert issuer.fetches == 2  # discovery and JWKS, once

    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    issuer.keys.append(rotated)
    now[0] += 120
    assert check(token(rotated, header={"kid": "k2"}), keys=keys, now=now[0]).claims["sub"] == "user-1"
    assert issuer.fetches == 4


def test_an_issuer_that_cannot_be_reached_refuses_with_401() -> None:
    def unreachable(url: str) -> Any:
        raise OSError("connection refused")

    denied = refused(token(), keys=IssuerKeys(unreachable, time.time))

    assert (denied.status, "could not be read" in str(denied)) == (401, True)
