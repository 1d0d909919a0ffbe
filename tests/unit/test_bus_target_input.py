"""The local runner hands a rule's target what EventBridge would: the event, or its Input, InputPath or
InputTransformer result (local.events.target_input)."""

from typing import Any

import pytest

from local.events import target_input
from local.template import BusRule

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "Lead Stage Changed",
    "source": "leadstream",
    "time": "2026-11-24T04:53:02Z",
    "resources": ["L1"],
    "detail": {"transition_id": "L1:SQL:2", "score": 100.0, "card": {"name": "Jane", "tags": ["a"]}},
}


def rule(**target: Any) -> BusRule:
    return BusRule("F", "F-Rule", "bus", {}, 2, None, **target)


def test_without_input_settings_the_target_gets_the_event() -> None:
    assert target_input(rule(), EVENT, "eu-west-1") == EVENT


def test_input_is_constant_json_and_input_path_a_part_of_the_event() -> None:
    assert target_input(rule(input='{"ping": 1}'), EVENT, "eu-west-1") == {"ping": 1}
    assert target_input(rule(input_path="$.detail.card"), EVENT, "eu-west-1") == EVENT["detail"]["card"]


def test_a_json_template_gets_values_as_json_outside_strings_and_as_text_inside() -> None:
    transformer = {
        "InputPathsMap": {
            "id": "$.detail.transition_id",
            "score": "$.detail.score",
            "tag": "$.detail.card.tags[0]",
        },
        "InputTemplate": '{"id": <id>, "score": <score>, "line": "<id> scored <score>", "tag": <tag>, '
        '"rule": "<aws.events.rule-name>", "missing": <nope>}',
    }
    transformer["InputPathsMap"]["nope"] = "$.detail.absent"

    handed = target_input(rule(input_transformer=transformer), EVENT, "eu-west-1")

    assert handed == {
        "id": "L1:SQL:2",
        "score": 100.0,
        "line": "L1:SQL:2 scored 100.0",
        "tag": "a",
        "rule": "F-Rule",
        "missing": None,
    }


def test_a_text_template_is_text() -> None:
    transformer = {"InputPathsMap": {"id": "$.detail.transition_id"}, "InputTemplate": "change <id> happened"}

    assert target_input(rule(input_transformer=transformer), EVENT, "eu-west-1") == "change L1:SQL:2 happened"


def test_a_path_this_runner_cannot_follow_is_an_error_not_a_guess() -> None:
    transformer = {"InputPathsMap": {"x": "$.detail.*"}, "InputTemplate": "<x>"}

    with pytest.raises(ValueError, match="unsupported JSON path"):
        target_input(rule(input_transformer=transformer), EVENT, "eu-west-1")
