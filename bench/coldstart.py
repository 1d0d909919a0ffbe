"""Cold-start initialisation: `import app` of each function in a fresh interpreter, against a boto3 floor.

Each sample is a new `python -I` process whose environment is the function's template environment (no
network: importing the handler module only builds clients and models, it never calls AWS). The child
times its own import with perf_counter; spawn-to-ready adds interpreter start-up. In the unmeasured
warm-up run the child also lists the AWS clients the import left alive.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from local.template import REPO, Stack

LAYER = REPO / "layers" / "common"
FLOOR = "floor: boto3 + 1 DynamoDB client"
XRAY = "reference: floor + `import aws_xray_sdk.core`"

# Runs in the child. The timed block is spliced in; the result is the last line of stdout.
_CHILD = """\
import gc, json, sys, time
sys.path[:0] = {paths!r}
{setup}
before = len(sys.modules)
started = time.perf_counter()
{body}
elapsed = time.perf_counter() - started
ready = time.time()
clients = []
if "--census" in sys.argv and "botocore.client" in sys.modules:
    base = sys.modules["botocore.client"].BaseClient
    clients = [o.meta.service_model.service_name for o in gc.get_objects() if isinstance(o, base)]
result = {{"seconds": elapsed, "ready": ready, "modules": len(sys.modules) - before, "clients": clients}}
print(json.dumps(result))
"""


@dataclass(frozen=True)
class Target:
    name: str
    code: str
    env: dict[str, str]
    cwd: Path


@dataclass
class ColdStart:
    name: str
    import_ms: list[float] = field(default_factory=list)
    ready_ms: list[float] = field(default_factory=list)
    modules: int = 0
    clients: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.import_ms)

    @property
    def best(self) -> float:
        return min(self.import_ms)

    @property
    def ready_median(self) -> float:
        return statistics.median(self.ready_ms)

    @property
    def clients_summary(self) -> str:
        counts = Counter(self.clients)
        return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(counts.items())) or "none"


def _child_env(environment: dict[str, str]) -> dict[str, str]:
    """Only what Lambda would set (plus PATH): no profile, no config file, no metadata lookups."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **environment,
    }


def targets(stack: Stack, region: str, base_env: dict[str, str]) -> list[Target]:
    """The floor, a reference (the floor plus the X-Ray SDK that Powertools' Tracer imports), then every
    function of the template in template order."""
    floor_body = f"import boto3\nclient = boto3.client('dynamodb', region_name={region!r})"
    found = [
        Target(FLOOR, _CHILD.format(paths=[], setup="", body=floor_body), _child_env(base_env), REPO),
        Target(
            XRAY,
            _CHILD.format(paths=[], setup="", body=floor_body + "\nimport aws_xray_sdk.core"),
            _child_env(base_env),
            REPO,
        ),
    ]
    for logical_id, function in stack.functions.items():
        module, attribute = function.handler.rsplit(".", 1)
        code = _CHILD.format(
            paths=[str(function.code_uri), str(LAYER)],
            setup="import importlib",  # loaded before the clock starts
            body=f"getattr(importlib.import_module({module!r}), {attribute!r})",
        )
        found.append(Target(logical_id, code, _child_env(function.environment), function.code_uri))
    return found


@dataclass(frozen=True)
class _Sample:
    import_ms: float
    ready_ms: float  # spawn to import done: interpreter start-up plus the import
    modules: int
    clients: list[str]


def _run_once(target: Target, census: bool = False) -> _Sample:
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-I", "-c", target.code, *(["--census"] if census else [])],
        env=target.env,
        cwd=target.cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{target.name}: the child failed to import:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return _Sample(
        import_ms=float(result["seconds"]) * 1000,
        ready_ms=(float(result["ready"]) - spawned) * 1000,
        modules=int(result["modules"]),
        clients=list(result["clients"]),
    )


def measure(found: list[Target], runs: int, progress: Callable[[str], None]) -> list[ColdStart]:
    """One unmeasured warm-up per target (bytecode caches, page cache, client census), then `runs`
    round-robin rounds: round-robin spreads machine noise evenly over the floor and the functions.
    """
    results = [ColdStart(t.name) for t in found]
    for target, result in zip(found, results, strict=True):
        progress(f"cold start: warm-up {target.name}")
        result.clients = _run_once(target, census=True).clients
    for round_no in range(1, runs + 1):
        progress(f"cold start: round {round_no}/{runs} ({len(found)} fresh interpreters)")
        for target, result in zip(found, results, strict=True):
            sample = _run_once(target)
            result.import_ms.append(sample.import_ms)
            result.ready_ms.append(sample.ready_ms)
            result.modules = sample.modules
    return results
