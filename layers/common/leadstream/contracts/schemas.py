"""The JSON Schema of every event on the bus, generated from the contract models in `events.py`.

From the repository root: ``PYTHONPATH=layers/common .venv/bin/python -m leadstream.contracts.schemas``
writes ``docs/events/<slug>.schema.json`` per detail-type ('Lead Stage Changed' ->
``lead-stage-changed.schema.json``; another folder may be given). A unit test fails when the committed
schemas differ from what the models generate, so they stay true.
"""

import json
import sys
from pathlib import Path
from typing import Any

from leadstream.contracts.events import DETAIL_TYPES, SOURCE

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def slug(detail_type: str) -> str:
    return "-".join(detail_type.lower().split())


def schema(detail_type: str) -> dict[str, Any]:
    """The schema of the event's `detail`, named by its detail-type and source."""
    model = DETAIL_TYPES[detail_type]
    generated = model.model_json_schema(mode="serialization")
    return {
        "$schema": DIALECT,
        "$id": f"{slug(detail_type)}.schema.json",
        "x-source": SOURCE,
        "x-detail-type": detail_type,
        **generated,
    }


def documents() -> dict[str, str]:
    """File name -> text, for every detail-type (sorted keys, two-space indent, a final newline)."""
    return {
        f"{slug(t)}.schema.json": json.dumps(schema(t), indent=2, sort_keys=True) + "\n" for t in DETAIL_TYPES
    }


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in documents().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events")):
        print(path)  # noqa: T201
