"""Reading a scoring model from its YAML document (the shipped `scoring.yaml`, or SCORING_MODEL_PATH)."""

from pathlib import Path

import yaml

from leadstream.scoring.model import ScoringModel

SHIPPED_MODEL = Path(__file__).resolve().parent / "scoring.yaml"


def load_model(path: Path | None = None) -> ScoringModel:
    """The model at `path`, else the shipped one. Invalid models fail here, at cold start, naming the rule."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where the wheel has it
    return ScoringModel.model_validate(yaml.load((path or SHIPPED_MODEL).read_text(), Loader=loader))  # noqa: S506
