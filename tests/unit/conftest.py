import pytest
from leadstream.scoring.model import ScoringModel

from tests.unit.model import build_model


@pytest.fixture(scope="session")
def model() -> ScoringModel:
    """The unit tests' own small scoring model (tests/unit/model.py), not the shipped scoring.yaml."""
    return build_model()
