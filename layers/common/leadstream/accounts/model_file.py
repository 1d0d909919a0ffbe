"""Reading an account model from its YAML document (the shipped `accounts.yaml`, or a path given)."""

from functools import cache
from pathlib import Path

from leadstream.accounts.model import AccountModel
from leadstream.platform.documents import read_yaml

SHIPPED_MODEL = Path(__file__).resolve().parent / "accounts.yaml"


@cache  # one parse per file and container: the API's routers and handler share it (frozen models)
def load_account_model(path: Path | None = None) -> AccountModel:
    """The model at `path`, else the shipped one. Invalid models fail here, at cold start, naming the rule."""
    return AccountModel.model_validate(read_yaml(path or SHIPPED_MODEL))
