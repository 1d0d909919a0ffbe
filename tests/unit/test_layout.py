"""The house rules of the code layout, read from the source with `ast` (nothing is imported).

- Domain modules are pure: no AWS SDK, no PynamoDB, no YAML, no Powertools, not even through another
  Leadstream module; they import only other domain modules (and the published contract).
- Only platform/settings.py reads the environment.
- Handlers call the domain and the platform, never boto3, botocore or PynamoDB themselves.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "layers" / "common"
PACKAGE = LAYER / "leadstream"
FUNCTIONS = REPO / "functions"

DOMAIN = frozenset(
    {
        "leadstream.accounts.membership",
        "leadstream.accounts.model",
        "leadstream.accounts.score",
        "leadstream.firmographics.company",
        "leadstream.identity.identifiers",
        "leadstream.identity.resolution",
        "leadstream.identity.profile",
        "leadstream.identity.provenance",
        "leadstream.scoring.model",
        "leadstream.scoring.score",
        "leadstream.scoring.replay",
        "leadstream.scoring.lifecycle",
        "leadstream.scoring.report",
        "leadstream.tracking.attribution",
        "leadstream.tracking.events",
        "leadstream.sources.model",
        "leadstream.notifications.message",
        "leadstream.notifications.blocks",
        "leadstream.sales.card",
        "leadstream.sales.workflow",
        "leadstream.platform.errors",  # the exceptions: domain rules raise them (pydantic only)
        "leadstream.sales.accounts",
        "leadstream.sales.assignment",
        "leadstream.sales.speed",
        "leadstream.archive.records",  # the archive's record and layout: pure, read back by later tools
        "leadstream.predictive.model",  # the predictive artifact and its evaluation (pydantic only)
        "leadstream.predictive.features",
        "leadstream.predictive.live",  # the likelihood as ScoreFunction computes and the API shows it
        "leadstream.shadow.score",  # shadow mode's arithmetic, its report and where it keeps records
        "leadstream.shadow.report",
        "leadstream.shadow.keys",
    }
)
# The published event is a pydantic model with no I/O of its own: domain code may build it. It is held to
# the same purity as the domain (it is checked below like a domain module).
CONTRACTS = frozenset({"leadstream.contracts.events"})
IMPURE = frozenset({"boto3", "botocore", "pynamodb", "yaml", "aws_lambda_powertools"})
SETTINGS = PACKAGE / "platform" / "settings.py"


def module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(name: str) -> Path | None:
    base = LAYER.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (lazy imports count too), as dotted
    names; `from pkg import name` counts as `pkg.name` when that is a module of ours, else as `pkg`."""
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                package = module_name(path).split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(
                f"{base}.{alias.name}" for alias in node.names if module_path(f"{base}.{alias.name}")
            )
    return found


def with_packages(name: str) -> set[str]:
    """A module and the packages Python runs (their __init__) to import it."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def closure(name: str) -> dict[str, set[str]]:
    """Every Leadstream module importing `name` loads, transitively, with what each imports."""
    seen: dict[str, set[str]] = {}
    todo = [name]
    while todo:
        current = todo.pop()
        for module in with_packages(current):
            path = module_path(module)
            if module in seen or path is None:
                continue
            seen[module] = imported(path)
            todo += [m for m in seen[module] if m.split(".")[0] == "leadstream"]
    return seen


def top(name: str) -> str:
    return name.split(".")[0]


def test_every_listed_domain_module_exists() -> None:
    missing = [name for name in DOMAIN | CONTRACTS if module_path(name) is None]
    assert missing == [], "a module moved: update the layout test's list with it"


def impure_imports(name: str) -> list[str]:
    return sorted(
        f"{module} imports {dependency}"
        for module, imports in closure(name).items()
        for dependency in imports
        if top(dependency) in IMPURE
    )


def is_package(name: str) -> bool:
    path = module_path(name)
    return path is not None and path.name == "__init__.py"


@pytest.mark.parametrize("name", sorted(DOMAIN | CONTRACTS))
def test_a_domain_module_loads_no_sdk_storage_yaml_or_powertools_even_indirectly(name: str) -> None:
    outside = sorted(
        dependency
        for dependency in closure(name)[name]
        if top(dependency) == "leadstream"
        and dependency not in DOMAIN | CONTRACTS
        and not is_package(dependency)
    )

    assert impure_imports(name) == []
    assert outside == [], "domain modules import only domain modules"


def test_the_purity_check_sees_an_impure_import_two_modules_away() -> None:
    # scoring/outbox.py imports no SDK itself; its repositories do
    assert "pynamodb" not in {top(m) for m in imported(PACKAGE / "scoring" / "outbox.py")}
    assert any("imports pynamodb" in hit for hit in impure_imports("leadstream.scoring.outbox"))


def _python_files() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *FUNCTIONS.rglob("*.py")])


def reads_environment(path: Path) -> list[str]:
    """Where `path` reads process environment variables (os.environ, os.getenv, from os import ...)."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "environb", "getenv", "getenvb"}:
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append(f"{path.relative_to(REPO)}:{node.lineno} os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            names = {a.name for a in node.names} & {"environ", "environb", "getenv", "getenvb"}
            found += [f"{path.relative_to(REPO)}:{node.lineno} from os import {n}" for n in sorted(names)]
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = [hit for path in _python_files() if path != SETTINGS for hit in reads_environment(path)]

    assert readers == []
    assert reads_environment(SETTINGS), "settings.py is where the environment is read: the check must see it"


HANDLERS = sorted(FUNCTIONS.glob("*/app.py"))


def test_there_is_a_handler_per_function_folder() -> None:
    assert {p.parent.name for p in HANDLERS} == {
        p.name for p in FUNCTIONS.iterdir() if p.is_dir() and not p.name.startswith("__")
    }


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda p: p.parent.name)
def test_a_handler_does_not_talk_to_aws_or_dynamodb_itself(handler: Path) -> None:
    direct = sorted(m for m in imported(handler) if top(m) in {"boto3", "botocore", "pynamodb"})

    assert direct == []


TRAINING_LIBRARIES = frozenset({"sklearn", "numpy", "scipy", "joblib"})


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda p: p.parent.name)
def test_no_function_loads_a_training_library_even_lazily(handler: Path) -> None:
    loaded = {m for m in imported(handler) if top(m) == "leadstream"}
    reached = {dep for name in loaded for deps in closure(name).values() for dep in deps}

    assert sorted(m for m in reached | imported(handler) if top(m) in TRAINING_LIBRARIES) == []


def test_the_training_library_is_a_development_dependency_only() -> None:
    shipped = (LAYER / "requirements.txt").read_text().lower()
    development = (REPO / "requirements-dev.txt").read_text().lower()

    assert "scikit-learn" not in shipped
    assert "scikit-learn==" in development
    # the check above would see the training module if a handler reached it
    assert "sklearn.linear_model" in imported(PACKAGE / "predictive" / "training.py")
