"""Reading an account model from its YAML document (the shipped `accounts.yaml`, or a path given)."""

from pathlib import Path

from leadstream.accounts.model import AccountModel
from leadstream.platform.documents import read_yaml

SHIPPED_MODEL = Path(__file__).resolve().parent / "accounts.yaml"


def load_account_model(path: Path | None = None) -> AccountModel:
    """The model at `path`, else the shipped one. Invalid models fail here, at cold start, naming the rule."""
    return AccountModel.model_validate(read_yaml(path or SHIPPED_MODEL))
