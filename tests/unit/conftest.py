import pytest
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.model_file import load_model


@pytest.fixture(scope="session")
def model() -> ScoringModel:
    """The default scoring model shipped in the common layer (scoring.yaml)."""
    return load_model()
