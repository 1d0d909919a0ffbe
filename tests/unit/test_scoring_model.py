"""A scoring model document is checked when it is loaded, so a bad change fails before it scores anyone.

(The shipped scoring.yaml has its contract test in test_shipped_model.py.)"""

from typing import Any

import pytest
import yaml
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.model_file import load_model
from pydantic import ValidationError


def _document(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "half_life_days": 30,
        "stages": [{"stage": "MQL", "min_score": 50}],
        "behaviour": [
            {
                "id": "pricing_page",
                "label": "Viewed pricing",
                "match": {"type": "page", "path": "*/pricing*"},
                "points": 25,
            },
            {"id": "page_view", "label": "Visited the site", "match": {"type": "page"}, "points": 2},
        ],
        "fit": [
            {
                "id": "work_email",
                "label": "Work e-mail",
                "trait": "email_kind",
                "equals": "work",
                "points": 10,
            }
        ],
    }
    doc.update(overrides)
    return doc


def test_given_a_valid_document_when_validated_then_it_is_accepted() -> None:
    model = ScoringModel.model_validate(_document())

    assert [r.id for r in model.behaviour] == ["pricing_page", "page_view"]


def test_given_two_behaviour_rules_with_the_same_id_when_validated_then_the_model_is_rejected() -> None:
    rules = _document()["behaviour"]
    rules[1] = {**rules[1], "id": "pricing_page"}

    with pytest.raises(ValidationError, match="pricing_page"):
        ScoringModel.model_validate(_document(behaviour=rules))


def test_given_a_fit_rule_reusing_a_behaviour_rule_id_when_validated_then_the_model_is_rejected() -> None:
    fit = [{"id": "page_view", "label": "Clash", "trait": "email_kind", "equals": "work", "points": 1}]

    with pytest.raises(ValidationError, match="page_view"):
        ScoringModel.model_validate(_document(fit=fit))


def test_given_a_fit_rule_with_both_equals_and_contains_any_when_validated_then_the_model_is_rejected() -> (
    None
):
    fit = [
        {
            "id": "senior",
            "label": "Senior",
            "trait": "title",
            "equals": "ceo",
            "contains_any": ["vp", "head"],
            "points": 10,
        }
    ]

    with pytest.raises(ValidationError, match="exactly one of"):
        ScoringModel.model_validate(_document(fit=fit))


def test_given_a_fit_rule_without_equals_or_contains_any_when_validated_then_the_model_is_rejected() -> None:
    fit = [{"id": "senior", "label": "Senior", "trait": "title", "points": 10}]

    with pytest.raises(ValidationError, match="exactly one of"):
        ScoringModel.model_validate(_document(fit=fit))


def test_given_a_misspelt_rule_key_when_validated_then_the_model_is_rejected() -> None:
    rules = [{"id": "pricing", "label": "Pricing", "match": {"type": "page"}, "points": 25, "max_time": 2}]

    with pytest.raises(ValidationError, match="max_time"):
        ScoringModel.model_validate(_document(behaviour=rules))


@pytest.mark.parametrize("half_life", [0, -1])
def test_given_a_half_life_that_is_not_positive_when_validated_then_the_model_is_rejected(
    half_life: int,
) -> None:
    with pytest.raises(ValidationError, match="half_life_days"):
        ScoringModel.model_validate(_document(half_life_days=half_life))


def test_given_a_cap_of_zero_when_validated_then_the_model_is_rejected() -> None:
    rules = [{"id": "pricing", "label": "Pricing", "match": {"type": "page"}, "points": 25, "max_times": 0}]

    with pytest.raises(ValidationError, match="max_times"):
        ScoringModel.model_validate(_document(behaviour=rules))


def test_given_a_model_file_when_loaded_from_its_path_then_that_model_is_used(tmp_path: Any) -> None:
    path = tmp_path / "scoring.yaml"
    path.write_text(yaml.safe_dump(_document(half_life_days=7)))

    assert load_model(path) == ScoringModel.model_validate(_document(half_life_days=7))


def test_given_an_invalid_model_file_when_loaded_then_it_fails_naming_the_rule(tmp_path: Any) -> None:
    rules = [{"id": "pricing", "label": "Pricing", "match": {"type": "page"}, "points": "many"}]
    path = tmp_path / "scoring.yaml"
    path.write_text(yaml.safe_dump(_document(behaviour=rules)))

    with pytest.raises(ValidationError, match="points"):
        load_model(path)
