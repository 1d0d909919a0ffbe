"""YAML documents shipped with the code (the scoring and account models), read safely."""

from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: Path) -> Any:
    """The document at `path`, with the safe loader (libyaml's parser where the wheel has it)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(), Loader=loader)  # noqa: S506  (a safe loader, either way)
