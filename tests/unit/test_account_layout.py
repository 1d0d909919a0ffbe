"""The account model and its arithmetic are domain modules: held to the house rules of test_layout.py (no
SDK, storage, YAML or Powertools, even indirectly; only domain modules and the published contract)."""

import pytest

from tests.unit.test_layout import CONTRACTS, DOMAIN, closure, impure_imports, is_package, module_path, top

ACCOUNT_DOMAIN = ["leadstream.accounts.model", "leadstream.accounts.score"]


@pytest.mark.parametrize("name", ACCOUNT_DOMAIN)
def test_the_account_model_and_score_are_pure_domain_modules(name: str) -> None:
    allowed = DOMAIN | CONTRACTS | set(ACCOUNT_DOMAIN)
    outside = sorted(
        dependency
        for dependency in closure(name)[name]
        if top(dependency) == "leadstream" and dependency not in allowed and not is_package(dependency)
    )

    assert module_path(name) is not None
    assert impure_imports(name) == []
    assert outside == []
