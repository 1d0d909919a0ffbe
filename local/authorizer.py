"""The HTTP API's JWT authorizers, enforced locally as API Gateway enforces them (wiring from template.yaml).

For a route that names a JWT authorizer, API Gateway (developer guide, "Control access to HTTP APIs with
JWT authorizers"):

1. takes the token from the identity source (`$request.header.Authorization`): the token alone, or
   prefixed with `Bearer`;
2. decodes it and checks its algorithm (RSA only) and signature against the issuer's public keys: its
   `jwks_uri`, found at `{issuer}/.well-known/openid-configuration`, kept for up to two hours; the
   token's `kid` must name one of them;
3. checks the claims: `iss` is the authorizer's issuer; `aud` matches one of its audiences, or, only
   when the token has no `aud`, `client_id` does (Cognito access tokens); `exp` is in the future; `nbf`
   and `iat`, when present, are not;
4. with scopes on the route, the token's `scope` (or `scp`) must hold at least one of them.

Any failure of 1-3 is 401 {"message":"Unauthorized"} with a `www-authenticate` header saying why (the
function is not invoked); of 4, 403 {"message":"Forbidden"}. A valid token's claims reach the function in
`requestContext.authorizer.jwt.claims` with every value a string, as payload 2.0 carries them (an array
claim such as `cognito:groups` becomes "[sales admin]"), and the token's scopes in `scopes` when the
route asks for scopes (else null).

The issuer of a Cognito pool is https://cognito-idp.<region>.amazonaws.com/<pool>: locally, the local AWS
(moto) answers for amazonaws.com hosts, and serves each pool's discovery document and JWKS.
"""

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

KEYS_TTL = 2 * 3600  # seconds API Gateway may keep an issuer's keys
RSA_ALGORITHMS = ("RS256", "RS384", "RS512")


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    issuer: str
    audience: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"

    @property
    def header(self) -> str:
        return self.identity_source.removeprefix("$request.header.").lower()


@dataclass(frozen=True)
class Authorized:
    claims: dict[str, str]
    scopes: list[str] | None


class Denied(Exception):
    """The request may not reach the function: 401 (invalid token) or 403 (insufficient scope)."""

    def __init__(self, description: str, status: int = 401) -> None:
        super().__init__(description)
        self.status = status

    @property
    def www_authenticate(self) -> str:
        error = "insufficient_scope" if self.status == 403 else "invalid_token"
        return f'Bearer scope="" error="{error}" error_description="{self}"'


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def through(endpoint: str) -> Callable[[str], Any]:
    """A fetcher that sends requests for AWS hosts (*.amazonaws.com) to the local AWS at `endpoint`."""
    local = urlsplit(endpoint)

    def fetch(url: str) -> Any:
        parts = urlsplit(url)
        if (parts.hostname or "").endswith(".amazonaws.com"):
            url = urlunsplit((local.scheme, local.netloc, parts.path, parts.query, ""))
        return fetch_json(url)

    return fetch


class IssuerKeys:
    """Each issuer's public keys, from its discovery document, kept KEYS_TTL seconds. A `kid` not among
    them fetches them again (at most once a minute), as keys rotate."""

    def __init__(
        self, fetch: Callable[[str], Any] = fetch_json, clock: Callable[[], float] = time.time
    ) -> None:
        self.fetch, self.clock = fetch, clock
        self._keys: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def _load(self, issuer: str) -> KeySet:
        discovery = self.fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
        return KeySet.import_key_set(self.fetch(str(discovery["jwks_uri"])))

    def key_set(self, issuer: str, kid: str) -> KeySet:
        with self._lock:
            fetched, keys = self._keys.get(issuer, (0.0, None))
            age = self.clock() - fetched
            stale = keys is None or age > KEYS_TTL or (age > 60 and not _has(keys, kid))
            if stale:
                try:
                    keys = self._load(issuer)
                except (OSError, ValueError, KeyError, TypeError, JoseError) as exc:
                    raise Denied(f"the issuer's keys could not be read ({type(exc).__name__})") from None
                self._keys[issuer] = (self.clock(), keys)
            assert keys is not None
            return keys


def _has(keys: KeySet, kid: str) -> bool:
    try:
        keys.get_by_kid(kid)
    except (ValueError, KeyError, JoseError):
        return False
    return True


def claim_text(value: Any) -> str:
    """A claim as payload 2.0 carries it: a string (arrays as "[a b]")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{claim_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def event_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    return {name: claim_text(value) for name, value in claims.items()}


def _token(authorizer: JwtAuthorizer, headers: Mapping[str, str]) -> str:
    parts = (headers.get(authorizer.header) or "").split(None, 1)
    if parts and parts[0].lower() == "bearer":
        parts = parts[1:]
    value = parts[0].strip() if parts else ""
    if not value:
        raise Denied("no token in the identity source")
    return value


def _numeric(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Denied(f"the token's {name} is not a number")
    return float(value)


def check_claims(authorizer: JwtAuthorizer, claims: Mapping[str, Any], now: float) -> None:
    if claims.get("iss") != authorizer.issuer:
        raise Denied("the token does not have a valid issuer")
    if "aud" in claims:
        aud = claims["aud"]
        audiences = aud if isinstance(aud, list) else [aud]
    else:
        audiences = [claims["client_id"]] if "client_id" in claims else []
    if not set(map(str, audiences)) & set(authorizer.audience):
        raise Denied("the token does not have a valid audience")
    exp = _numeric(claims, "exp")
    if exp is None or exp <= now:
        raise Denied("the token has expired")
    nbf, iat = _numeric(claims, "nbf"), _numeric(claims, "iat")
    if nbf is not None and nbf > now:
        raise Denied("the token is not valid yet")
    if iat is not None and iat > now:
        raise Denied("the token was issued in the future")


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    value = claims.get("scope", claims.get("scp", ""))
    return [str(s) for s in value] if isinstance(value, list) else str(value).split()


def authorize(
    authorizer: JwtAuthorizer,
    scopes: tuple[str, ...],
    headers: Mapping[str, str],
    keys: IssuerKeys,
    now: float | None = None,
) -> Authorized:
    """The claims a request's token gives the function; Denied when API Gateway would refuse it."""
    token = _token(authorizer, headers)
    try:
        compact = jws.extract_compact(token.encode())
        header = compact.headers()
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError):
        raise Denied("the token is not a JWT") from None
    if not isinstance(claims, dict):
        raise Denied("the token is not a JWT")
    if header.get("alg") not in RSA_ALGORITHMS:
        raise Denied("the token is not signed with an RSA algorithm")
    kid = str(header.get("kid", ""))
    key_set = keys.key_set(authorizer.issuer, kid)
    if not _has(key_set, kid):
        raise Denied("the token's kid names no key of the issuer")
    try:
        jws.deserialize_compact(token, key_set.get_by_kid(kid), algorithms=[str(header["alg"])])
    except JoseError:
        raise Denied("the token's signature is not valid") from None
    check_claims(authorizer, claims, time.time() if now is None else now)
    if scopes:
        held = token_scopes(claims)
        if not set(held) & set(scopes):
            raise Denied("the token has none of the route's scopes", status=403)
        return Authorized(event_claims(claims), held)
    return Authorized(event_claims(claims), None)
