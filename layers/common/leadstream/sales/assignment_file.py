"""Reading the assignment rules from their YAML document (the shipped `assignment.yaml`, or
ASSIGNMENT_RULES_PATH)."""

from pathlib import Path

from leadstream.platform.documents import read_yaml
from leadstream.sales.assignment import AssignmentRules

SHIPPED_RULES = Path(__file__).resolve().parent / "assignment.yaml"


def load_rules(path: Path | None = None) -> AssignmentRules:
    """The rules at `path`, else the shipped ones. Invalid rules fail at cold start, naming the field."""
    return AssignmentRules.model_validate(read_yaml(path or SHIPPED_RULES))
