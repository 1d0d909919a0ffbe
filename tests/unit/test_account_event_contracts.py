"""The bus contract stays true: the committed JSON Schemas in docs/events are what the contract models
generate, and every detail-type is documented there with an example that both the model and the committed
schema accept."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from leadstream.contracts.events import ACCOUNT_STAGE_CHANGED, ACCOUNT_SURGED, DETAIL_TYPES, STAGE_CHANGED
from leadstream.contracts.schemas import documents, slug, write

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
README = (DOCS / "README.md").read_text(encoding="utf-8")


def example(detail_type: str) -> dict[str, Any]:
    """The JSON example in the README's section for `detail_type`."""
    section = README.split(f"## `{detail_type}`\n", 1)
    assert len(section) == 2, f"docs/events/README.md has no section for {detail_type!r}"
    found = re.search(r"```json\n(.*?)```", section[1], re.DOTALL)
    assert found, f"the {detail_type!r} section has no JSON example"
    parsed: dict[str, Any] = json.loads(found.group(1))
    return parsed


def test_every_event_on_the_bus_has_a_contract_including_the_lead_stage_change() -> None:
    assert {STAGE_CHANGED, ACCOUNT_STAGE_CHANGED, ACCOUNT_SURGED} <= set(DETAIL_TYPES)


def test_the_committed_schemas_are_what_the_contract_models_generate(tmp_path: Path) -> None:
    committed = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.schema.json")}

    written = {p.name: p.read_text(encoding="utf-8") for p in write(tmp_path)}

    assert written == documents()
    assert committed == documents(), (
        "docs/events is stale: run PYTHONPATH=layers/common .venv/bin/python -m leadstream.contracts.schemas"
    )


@pytest.mark.parametrize("detail_type", sorted(DETAIL_TYPES))
def test_every_detail_type_is_listed_with_its_schema_and_a_valid_example(detail_type: str) -> None:
    detail = example(detail_type)
    schema = json.loads((DOCS / f"{slug(detail_type)}.schema.json").read_text(encoding="utf-8"))

    assert f"| `{detail_type}` | [{slug(detail_type)}.schema.json]" in README
    DETAIL_TYPES[detail_type].model_validate(detail)
    Draft202012Validator(schema).validate(detail)
    assert schema["x-detail-type"] == detail_type
    assert detail["version"] == 1


def test_a_detail_without_its_version_or_of_a_version_to_come_is_refused_by_the_schema() -> None:
    schema = json.loads((DOCS / f"{slug(ACCOUNT_SURGED)}.schema.json").read_text(encoding="utf-8"))
    detail = example(ACCOUNT_SURGED)

    assert not Draft202012Validator(schema).is_valid({**detail, "version": 2})
    assert not Draft202012Validator(schema).is_valid({k: v for k, v in detail.items() if k != "surge_id"})


@pytest.mark.parametrize("detail_type", [ACCOUNT_STAGE_CHANGED, ACCOUNT_SURGED])
def test_account_events_have_no_field_for_an_email_address(detail_type: str) -> None:
    text = json.dumps(DETAIL_TYPES[detail_type].model_json_schema())

    assert "email" not in text.lower()
