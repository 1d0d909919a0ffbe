"""Reading a scoring model from its YAML document (the shipped `scoring.yaml`, or SCORING_MODEL_PATH)."""

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from leadstream.platform.documents import read_yaml
from leadstream.platform.errors import InvalidModelFile, validation_details
from leadstream.scoring.model import ScoringModel

SHIPPED_MODEL = Path(__file__).resolve().parent / "scoring.yaml"


@cache  # one parse per file and container: the API's routers and handler share it (frozen models)
def load_model(path: Path | None = None) -> ScoringModel:
    """The model at `path`, else the shipped one. Invalid models fail here, at cold start, naming the rule."""
    return ScoringModel.model_validate(read_yaml(path or SHIPPED_MODEL))


def model_file(path: Path) -> ScoringModel:
    """A model file an operator names (a candidate to backtest): InvalidModelFile, naming the file and the
    rule that fails, if it cannot be read or does not validate."""
    try:
        document = read_yaml(path)
    except OSError as exc:
        raise InvalidModelFile(f"cannot read the model file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise InvalidModelFile(f"the model file {path} is not YAML: {exc}") from exc
    try:
        return ScoringModel.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_named(d['field'], document)}: {d['problem']}" for d in validation_details(exc)
        )
        raise InvalidModelFile(f"the model file {path} does not validate: {problems}") from exc


def _named(field: str, document: Any) -> str:
    """A failing field with its rule named by id where the document gives one: behaviour.0.points is
    behaviour[demo_request].points."""
    section, _, rest = field.partition(".")
    index, _, inner = rest.partition(".")
    rules = document.get(section) if isinstance(document, dict) else None
    if not index.isdigit() or not isinstance(rules, list) or int(index) >= len(rules):
        return field
    rule = rules[int(index)]
    name = rule.get("id") or rule.get("stage") if isinstance(rule, dict) else None
    return f"{section}[{name}]{'.' + inner if inner else ''}" if name else field
