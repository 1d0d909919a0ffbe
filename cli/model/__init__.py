"""python -m cli model backtest|shadow-report|rescore|train ...: scoring models proved on the archive.

Each subcommand is a module of this package (`backtest.py`, `shadow.py`, `rescore.py`, `train.py`) with
`NAME` (the subcommand), `add_parser(actions)` registering it and `run(args, target) -> int` doing it; the
modules are found here, so a new subcommand is a new module. Long runs print their progress on stderr;
`--json` prints the result for CI on stdout.
"""

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from types import ModuleType

from cli import target as targets


@cache
def subcommands() -> dict[str, ModuleType]:
    """Subcommand name -> its module, in the order of the modules' names."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[str(module.NAME)] = module
    return found


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    model = commands.add_parser(
        "model", help="scoring models: backtest, shadow report, rescore, train a predictive model"
    )
    actions = model.add_subparsers(dest="model_action", required=True, metavar="ACTION")
    for module in subcommands().values():
        module.add_parser(actions)


def run(args: argparse.Namespace, target: targets.Target) -> int:
    action: Callable[[argparse.Namespace, targets.Target], int] = subcommands()[args.model_action].run
    return action(args, target)
