"""IPinfo as a company resolver: `GET https://ipinfo.io/<ip>/json` with the token as a bearer header.

The fields read, as IPinfo documents its JSON (the API's published response schemas, CompanyResponse and
PrivacyResponse, and its documented sample answers; https://ipinfo.io/developers/data-types):

    {"ip": "66.87.125.72",
     "asn": {"asn": "AS10507", "name": ..., "domain": "spcsdns.net",
             "route": "66.87.125.0/24", "type": "isp"},
     "company": {"name": "Sprint Springfield POP", "domain": "sprint.com", "type": "isp"},
     "carrier": {"name": "Sprint Corporation", "mcc": "310", "mnc": "120"},
     "privacy": {"vpn": false, "proxy": false, "tor": false, "relay": false, "hosting": false, "service": ""}}

`company.type` and `asn.type` are one of isp, business, education, hosting; `carrier` is there for mobile
networks only; `{"ip": ..., "bogon": true}` answers a private or reserved address. Which objects an answer
has depends on the token's plan: a missing one is read as "not said".

The privacy flags win over the company: a VPN's exit range is registered to a business (IPinfo's own
example is a NordVPN range whose company is TEFINCOM S.A., type business), and its visitors are anyone.

HTTP through urllib3 (botocore's own dependency: nothing new to ship), one pool per container (kept-alive
connections), a short total timeout, no retries: tracking does not wait on this. A failure of any kind is
"not known now" (None), logged by kind only: an error's text names the URL, and so the network.
"""

import json
from collections.abc import Callable
from typing import Any

import urllib3

from leadstream.firmographics.company import Company, CompanyKind
from leadstream.platform.errors import SecretUnavailable
from leadstream.platform.observability import logger

IPINFO = "https://ipinfo.io"
TIMEOUT_SECONDS = 0.3

_TYPES = {
    "business": CompanyKind.BUSINESS,
    "isp": CompanyKind.ISP,
    "hosting": CompanyKind.HOSTING,
    "education": CompanyKind.EDUCATION,
}
_HIDDEN = ("vpn", "proxy", "tor", "relay")


def company_of(answer: dict[str, Any]) -> Company:
    """The company an IPinfo answer names for its address."""
    privacy = _object(answer, "privacy")
    if any(privacy.get(flag) is True for flag in _HIDDEN):
        return Company(CompanyKind.VPN)
    if privacy.get("hosting") is True:
        return Company(CompanyKind.HOSTING)
    if _object(answer, "carrier").get("name"):
        return Company(CompanyKind.MOBILE)
    if answer.get("bogon") is True:
        return Company(CompanyKind.UNKNOWN)
    owner = _object(answer, "company") or _object(answer, "asn")
    kind = _TYPES.get(str(owner.get("type", "")).lower(), CompanyKind.UNKNOWN)
    return Company.found(kind, _text(owner.get("domain")), _text(owner.get("name")))


def _object(answer: dict[str, Any], key: str) -> dict[str, Any]:
    value = answer.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class IpinfoResolver:
    """Asks IPinfo about one address per call (no cache of its own: see firmographics.resolver)."""

    def __init__(
        self,
        token: Callable[[], str],
        base_url: str = IPINFO,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        """`token` reads the API token (from Secrets Manager) when first needed; `base_url` is IPinfo's,
        or a stand-in's (the tests serve one on loopback)."""
        local = base_url.startswith(("http://127.0.0.1:", "http://localhost:"))
        if not (base_url.startswith("https://") or local):
            raise ValueError("the company lookup URL must be https")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = urllib3.PoolManager(
            num_pools=1, maxsize=4, timeout=urllib3.Timeout(total=timeout), retries=False
        )

    def resolve(self, ip: str) -> Company | None:
        try:
            token = self._token()
        except SecretUnavailable as exc:
            logger.warning("company lookup skipped: no token", reason=str(exc))
            return None
        try:
            response = self._http.request(
                "GET",
                f"{self.base_url}/{ip}/json",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            logger.warning("company lookup failed", reason=type(exc).__name__)
            return None
        if response.status != 200:
            logger.warning("company lookup failed", reason=f"HTTP {response.status}")
            return None
        try:
            answer = json.loads(response.data)
        except ValueError:
            logger.warning("company lookup failed", reason="not JSON")
            return None
        if not isinstance(answer, dict):
            logger.warning("company lookup failed", reason="not a JSON object")
            return None
        return company_of(answer)
