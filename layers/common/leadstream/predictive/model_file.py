"""Reading the predictive model's artifact (the stack's PredictiveModelFile), once per container.

The path names a file inside the common layer (`leadstream/predictive/likelihood.yaml` is
`layers/common/leadstream/predictive/likelihood.yaml` in the repository, `/opt/python/...` in Lambda), or is
absolute (tests, a local run). It is checked at cold start against the scoring model the function runs: a
missing or invalid artifact, or one trained on the features of another scoring model version (its
likelihoods would be wrong without a word), is refused with a message that says what to do.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from leadstream.platform.documents import read_yaml
from leadstream.platform.errors import ModelNotUsable, validation_details
from leadstream.platform.observability import logger
from leadstream.predictive.live import Accounts, LivePredictor, reads_accounts
from leadstream.predictive.model import PredictiveModel
from leadstream.scoring.model import ScoringModel

LAYER_ROOT = Path(__file__).resolve().parents[2]  # the folder `leadstream/` is in (/opt/python in Lambda)


def artifact_path(path: Path) -> Path:
    """Where the artifact is: an absolute path as given, else inside the common layer."""
    return path if path.is_absolute() else LAYER_ROOT / path


@cache  # one parse per file and container
def _read(path: Path) -> PredictiveModel:
    try:
        document = read_yaml(path)
    except OSError as exc:
        raise ModelNotUsable(
            f"predictive model {path}: cannot be read ({exc.strerror or type(exc).__name__}); "
            "PredictiveModelFile names a file inside the common layer (e.g. leadstream/predictive/"
            "likelihood.yaml for layers/common/leadstream/predictive/likelihood.yaml), or leave it empty"
        ) from exc
    except yaml.YAMLError as exc:
        raise ModelNotUsable(f"predictive model {path}: not a YAML document ({type(exc).__name__})") from exc
    try:
        return PredictiveModel.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{d['field']}: {d['problem']}" for d in validation_details(exc))
        raise ModelNotUsable(
            f"predictive model {path}: not a valid artifact ({problems}); "
            "write it with python -m cli model train"
        ) from exc


def load_predictive_model(path: Path, scoring: ScoringModel) -> PredictiveModel:
    """The artifact at `path` (see `artifact_path`), if it was trained under `scoring`'s version."""
    model = _read(artifact_path(path))
    if model.scoring_model != scoring.version:
        raise ModelNotUsable(
            f"predictive model {path} (version {model.version}) was trained under scoring model version "
            f"{model.scoring_model}, but the functions score with version {scoring.version}: its features "
            "mean something else now. Train it again (python -m cli model train) or leave "
            "PredictiveModelFile empty"
        )
    return model


def live_predictor(
    path: Path | None, scoring: ScoringModel, accounts: Callable[[], Accounts] | None = None
) -> LivePredictor | None:
    """ScoreFunction's predictive model (None when `path` is None: no likelihood), loaded and checked.
    `accounts` makes the reader of leads' account features, called only if the artifact names one."""
    if path is None:
        return None
    model = load_predictive_model(path, scoring)
    predict = LivePredictor(scoring, model, accounts() if accounts and reads_accounts(model) else None)
    if predict.missing_live():
        logger.warning(
            "the predictive model names features live scoring does not have: they count as 0",
            features=predict.missing_live(),
        )
    return predict
