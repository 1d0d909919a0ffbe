from collections.abc import Iterator

import pytest

from tests.pipeline.harness import Runner
from tests.pipeline.history import HISTORY_SEED, HISTORY_VISITORS


@pytest.fixture(scope="session")
def simulated_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """One runner for the session with a simulated 90-day history played through it (tests.pipeline.history):
    its archive holds every event, identity change and stage change of HISTORY_VISITORS visitors. Tests
    that use it must not change it (rescoring tests work on their own runner)."""
    from tests.pipeline.test_simulation import simulating

    with simulating(tmp_path_factory.mktemp("history"), HISTORY_SEED, HISTORY_VISITORS, 1500) as run:
        yield run
