import pytest
from leadstream.domain.scoring import ScoringModel


@pytest.fixture(scope="session")
def model() -> ScoringModel:
    """The default scoring model shipped in the common layer (scoring.yaml)."""
    return ScoringModel.load()
