"""Reading a scoring model from its YAML document (the shipped `scoring.yaml`, or SCORING_MODEL_PATH)."""

from functools import cache
from pathlib import Path

from leadstream.platform.documents import read_yaml
from leadstream.scoring.model import ScoringModel

SHIPPED_MODEL = Path(__file__).resolve().parent / "scoring.yaml"


@cache  # one parse per file and container: the API's routers and handler share it (frozen models)
def load_model(path: Path | None = None) -> ScoringModel:
    """The model at `path`, else the shipped one. Invalid models fail here, at cold start, naming the rule."""
    return ScoringModel.model_validate(read_yaml(path or SHIPPED_MODEL))
