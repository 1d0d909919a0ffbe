"""WebFunction, the web app's files: what a browser gets for /app and /app/{proxy+}."""

import base64
import gzip
import importlib
import json
from pathlib import PurePosixPath
from types import ModuleType
from typing import Any

import pytest

from bench.webapp import BUDGET_BYTES, STATIC, first_load, imports

ENDPOINT = "https://cognito-idp.eu-west-1.amazonaws.com/"


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("COGNITO_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("SALES_APP_CLIENT_ID", "client-123")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    return importlib.reload(importlib.import_module("functions.web.app"))


def get(web: ModuleType, proxy: str | None, **headers: str) -> dict[str, Any]:
    event = {"rawPath": "/app" if proxy is None else f"/app/{proxy}", "headers": headers}
    if proxy is not None:
        event["pathParameters"] = {"proxy": proxy}
    answer: dict[str, Any] = web.lambda_handler(event, None)
    return answer


def body(answer: dict[str, Any]) -> bytes:
    raw = base64.b64decode(answer["body"]) if answer["isBase64Encoded"] else answer["body"].encode()
    return gzip.decompress(raw) if answer["headers"].get("Content-Encoding") == "gzip" else raw


def test_the_page_is_at_app_with_a_policy_allowing_only_this_origin_and_cognito(
    web: ModuleType,
) -> None:
    page = get(web, None)

    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert b'src="app/js/main.js"' in body(page)
    policy = page["headers"]["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com;" in policy
    assert "frame-ancestors 'none'" in policy


def test_app_slash_and_index_lead_back_to_the_page(web: ModuleType) -> None:
    for proxy in ("", "index.html"):
        moved = get(web, proxy)
        assert (moved["statusCode"], moved["headers"]["Location"]) == (301, "../app")


def test_config_names_the_sign_in_endpoint_and_app_client(web: ModuleType) -> None:
    config = json.loads(body(get(web, "config.json")))

    assert config == {"cognitoEndpoint": ENDPOINT, "region": "eu-west-1", "clientId": "client-123"}


def test_a_module_is_gzipped_for_a_browser_that_asks_and_revalidated_by_etag(web: ModuleType) -> None:
    plain = get(web, "js/main.js")
    zipped = get(web, "js/main.js", **{"Accept-Encoding": "gzip, deflate, br"})

    assert plain["headers"]["Content-Type"] == "text/javascript; charset=utf-8"
    assert "Content-Encoding" not in plain["headers"]
    assert zipped["headers"]["Content-Encoding"] == "gzip"
    assert body(zipped) == body(plain)
    assert len(base64.b64decode(zipped["body"])) < len(body(plain))
    again = get(web, "js/main.js", **{"If-None-Match": plain["headers"]["ETag"]})
    assert (again["statusCode"], again["body"]) == (304, "")
    assert plain["headers"]["Cache-Control"] == "no-cache"
    assert "immutable" in get(web, "vendor/preact-10.29.8.js")["headers"]["Cache-Control"]


@pytest.mark.parametrize(
    "proxy", ["../app.py", "js/../../app.py", ".hidden", "app.py", "nope.js", "vendor/LICENSES.txt"]
)
def test_nothing_outside_the_apps_files_is_served(web: ModuleType, proxy: str) -> None:
    answer = get(web, proxy)

    assert answer["statusCode"] == 404
    assert "the app starts at /app" in json.loads(body(answer))["message"]


def test_every_module_the_app_imports_is_a_file_webfunction_serves(web: ModuleType) -> None:
    modules = [path.relative_to(STATIC) for path in STATIC.rglob("*.js")]

    for module in modules:
        for target in imports(PurePosixPath(module.as_posix())):
            answer = get(web, str(target))
            assert answer["statusCode"] == 200, f"{module} imports {target}, which is not served"


def test_the_first_load_stays_within_its_budget() -> None:
    shipped = first_load()

    assert {"index.html", "app.css", "js/main.js", "vendor/preact-10.29.8.js"} <= {s.path for s in shipped}
    assert sum(s.gzipped for s in shipped) <= BUDGET_BYTES
