"""Reading an account model from its YAML document (the shipped `accounts.yaml`, or a path given)."""

from pathlib import Path

import yaml

from leadstream.accounts.model import AccountModel

SHIPPED_MODEL = Path(__file__).resolve().parent / "accounts.yaml"


def load_account_model(path: Path | None = None) -> AccountModel:
    """The model at `path`, else the shipped one. Invalid models fail here, at cold start, naming the rule."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where the wheel has it
    return AccountModel.model_validate(yaml.load((path or SHIPPED_MODEL).read_text(), Loader=loader))  # noqa: S506
