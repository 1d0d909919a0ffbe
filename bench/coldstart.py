"""Cold start, first request included: a fresh Lambda-like interpreter per sample, against a boto3 floor.

Each sample is a new `python -I` process started with the function's Lambda-like environment (template
environment, LAMBDA_TASK_ROOT, AWS_EXECUTION_ENV, memory size, the X-Ray daemon address; tracing and
metrics on, as deployed; see bench.lambdaenv) and AWS_ENDPOINT_URL pointing at moto in server mode. The
child times with perf_counter:

* init: importing the handler module (`app`, from the function's CodeUri, the layer on sys.path);
* first request: `_X_AMZN_TRACE_ID` set as Lambda sets it, then the handler called with the function's
  sample event from events/ (made new: a fresh messageId, sequence numbers, bus event id), against moto.

The floor is the least any function that talks to DynamoDB pays: a fresh interpreter that imports boto3
and creates one DynamoDB client (init), then makes one GetItem on the leads table (first request). The
child writes its result to a file of its own (stdout carries the function's logs and EMF metrics); a
first request that fails (an exception, an HTTP status other than 2xx, failed batch records) stops the
bench. Before every sample the IdempotencyTable is emptied, so that PublishFunction and
NotifySalesFunction do a first delivery, not a replay.
"""

import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import lambdaenv
from bench.lambdaenv import LocalAws
from local.template import REPO

FLOOR = "floor: boto3, 1 DynamoDB client, 1 GetItem"
TRACER = "reference: floor + Powertools Tracer (X-Ray SDK on, as with TraceAwsCalls=true)"
STACK = "reference: the fixed stack: Powertools Logger and Metrics, pydantic, a PynamoDB GetItem"
TARGET_RATIO = 1.2
IMPORT_MARK = "-- bench: first request --"
END_MARK = "-- bench: answered --"
INIT_MARK = "-- bench: initialised --"

# Runs in the child. Only `sys` and `time` are loaded before the clock starts (both are built in): every
# other module the function needs is paid for inside the measurement, as in Lambda.
_CHILD = """\
import sys, time
sys.path[:0] = {paths!r}
before = len(sys.modules)
started = time.perf_counter()
{init}
initialised = time.perf_counter()
import json, os
with open({event_path!r}, encoding="utf-8") as f:
    event = json.load(f)
class Context:
    function_name = {context[function_name]!r}
    function_version = "$LATEST"
    invoked_function_arn = {context[invoked_function_arn]!r}
    memory_limit_in_mb = {context[memory_limit_in_mb]!r}
    aws_request_id = {context[aws_request_id]!r}
    log_group_name = {context[log_group_name]!r}
    log_stream_name = "bench"
    deadline = time.time() * 1000 + {context[timeout_ms]!r}
    def get_remaining_time_in_millis(self):
        return int(self.deadline - time.time() * 1000)
context = Context()
{before_first}
os.environ["_X_AMZN_TRACE_ID"] = {trace_id!r}
first_started = time.perf_counter()
error = None
try:
{first}
except Exception:
    import traceback
    response, error = None, traceback.format_exc()
answered = time.perf_counter()
wall = time.time()
sys.stderr.write({end_mark!r} + "\\n"); sys.stderr.flush()
{after_first}
import gc
clients = []
if "botocore.client" in sys.modules:
    base = sys.modules["botocore.client"].BaseClient
    clients = sorted(o.meta.service_model.service_name for o in gc.get_objects() if isinstance(o, base))
result = {{
    "init": initialised - started,
    "first": answered - first_started,
    "answered": wall,
    "modules": len(sys.modules) - before,
    "clients": clients,
    "response": response,
    "error": error,
    {extra_result}
}}
with open({result_path!r}, "w", encoding="utf-8") as f:
    json.dump(result, f, default=str)
"""

# With `python -X importtime`: a line on stderr between init and the first request, and the AWS calls of
# the first request recorded (hooks attached after init, so that the init imports stay as they are).
_TRACE_CALLS = """\
sys.stderr.write({init_mark!r} + "\\n"); sys.stderr.flush()
sys.path.append({repo!r})
from bench.awscalls import Recorder
recorder = Recorder(); recorder.costing = False; recorder.attach_existing(); recorder.install()
import cProfile
profiler = cProfile.Profile()
sys.stderr.write({mark!r} + "\\n"); sys.stderr.flush()
profiler.enable()"""
_TRACE_AFTER = """\
profiler.disable()
from bench.profiling import summarise
profile = summarise(profiler, {roots!r}, {entry!r})"""
_TRACE_RESULT = """\
"calls": [[c["service"], c["op"], sum(b - a for a, b in c["attempts"])] for c in recorder.take()[0]],
    "profile": profile,"""


@dataclass(frozen=True)
class Target:
    name: str
    init: str  # code, run at module level
    first: str  # code in a try block, sets `response`
    env: dict[str, str]
    cwd: Path
    paths: list[str]
    event_path: Path | None
    context: dict[str, Any]
    checked: bool  # a function: its response is checked
    handler_module: str = "boto3"
    handler_entry: str = ""

    def child_code(self, event_path: Path, result_path: Path, trace_calls: bool = False) -> str:
        return _CHILD.format(
            paths=self.paths,
            init=self.init,
            event_path=str(event_path),
            context=self.context,
            trace_id=lambdaenv.trace_header(),
            first="\n".join("    " + line for line in self.first.splitlines()),
            result_path=str(result_path),
            end_mark=END_MARK,
            before_first=_TRACE_CALLS.format(init_mark=INIT_MARK, mark=IMPORT_MARK, repo=str(REPO))
            if trace_calls
            else "",
            extra_result=_TRACE_RESULT if trace_calls else "",
            after_first=_TRACE_AFTER.format(roots=self.paths, entry=self.handler_entry)
            if trace_calls
            else "",
        )


@dataclass
class ColdStart:
    name: str
    reference: bool = False
    init_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    spawn_ms: list[float] = field(default_factory=list)  # spawn to the first answer
    modules: int = 0
    clients: list[str] = field(default_factory=list)

    @property
    def init(self) -> float:
        return statistics.median(self.init_ms)

    @property
    def first(self) -> float:
        return statistics.median(self.first_ms)

    @property
    def total(self) -> float:
        return statistics.median(self.total_ms)

    @property
    def spawn(self) -> float:
        return statistics.median(self.spawn_ms)

    @property
    def clients_summary(self) -> str:
        counts = Counter(self.clients)
        return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(counts.items())) or "none"


def targets(local: LocalAws) -> list[Target]:
    """The floor, the Tracer reference, then every function of the template, in template order."""
    stack = local.stack
    table = stack.physical_name("LeadsTable")
    schema = stack.resolve(stack.resources["LeadsTable"]["Properties"])["KeySchema"]
    key = {
        k["AttributeName"]: {"S": "LEAD#bench-floor" if k["KeyType"] == "HASH" else "STATE"} for k in schema
    }
    floor_dir = local.scratch_dir("floor")
    name = f"{stack.name}-Floor"
    first_function = next(iter(stack.functions))
    floor_env = lambdaenv.lambda_environment(
        lambdaenv.common_environment(stack),
        name,
        floor_dir,
        lambdaenv.memory_mb(stack, first_function),
        lambdaenv.runtime(stack, first_function),
    )
    context = lambdaenv.context_fields(stack, name, lambdaenv.memory_mb(stack, first_function), 10)
    get_item = f"response = client.get_item(TableName={table!r}, Key={key!r})"
    found = [
        Target(
            FLOOR,
            "import boto3\nclient = boto3.client('dynamodb')",
            get_item,
            floor_env,
            floor_dir,
            [],
            None,
            context,
            checked=False,
        ),
        Target(
            TRACER,
            "import boto3\nfrom aws_lambda_powertools import Tracer\ntracer = Tracer()\n"
            "client = boto3.client('dynamodb')\n"
            "@tracer.capture_lambda_handler\n"
            f"def handler(event, context):\n    {get_item}\n    return response",
            "response = handler({}, context)",
            {**floor_env, "POWERTOOLS_TRACE_DISABLED": "false"},
            floor_dir,
            [],
            None,
            context,
            checked=False,
        ),
        Target(
            STACK,
            # What every function stands on before any code of ours: Powertools' Logger and Metrics around
            # the handler, one pydantic model (settings), one PynamoDB model read with GetItem.
            "from aws_lambda_powertools import Logger, Metrics\n"
            "from pydantic import BaseModel\n"
            "from pynamodb.attributes import UnicodeAttribute\n"
            "from pynamodb.models import Model\n"
            "logger = Logger()\nmetrics = Metrics(namespace='Bench')\n"
            "class Settings(BaseModel):\n    table: str\n"
            f"settings = Settings(table={table!r})\n"
            "class Item(Model):\n"
            "    class Meta:\n"
            "        table_name = settings.table\n"
            "    pk = UnicodeAttribute(hash_key=True)\n"
            "    sk = UnicodeAttribute(range_key=True)\n"
            "@logger.inject_lambda_context\n"
            "@metrics.log_metrics\n"
            "def handler(event, context):\n"
            "    try:\n"
            "        return Item.get('LEAD#bench-floor', 'STATE').pk\n"
            "    except Item.DoesNotExist:\n"
            "        return None\n",
            "response = handler({}, context)",
            floor_env,
            floor_dir,
            [],
            None,
            context,
            checked=False,
        ),
    ]
    for logical_id, function in stack.functions.items():
        module, attribute = function.handler.rsplit(".", 1)
        found.append(
            Target(
                logical_id,
                f"handler = getattr(__import__({module!r}, fromlist=['_']), {attribute!r})",
                "response = handler(event, context)",
                lambdaenv.function_environment(stack, function),
                function.code_uri,
                lambdaenv.handler_paths(function),
                lambdaenv.sample_event_path(logical_id),
                lambdaenv.context_fields(
                    stack,
                    function.environment["AWS_LAMBDA_FUNCTION_NAME"],
                    lambdaenv.memory_mb(stack, logical_id),
                    function.timeout,
                ),
                checked=True,
                handler_module=module,
                handler_entry=attribute,
            )
        )
    return found


@dataclass(frozen=True)
class Sample:
    init_ms: float
    first_ms: float
    spawn_ms: float
    modules: int
    clients: list[str]
    calls: list[list[Any]]
    profile: dict[str, Any]
    stderr: str


class Runner:
    """Starts the children; keeps a serial so that every sample event is new."""

    def __init__(self, local: LocalAws) -> None:
        self.local = local
        self.serial = 0
        self.workdir = local.scratch_dir("coldstart")

    def run(self, target: Target, flags: tuple[str, ...] = (), trace_calls: bool = False) -> Sample:
        self.serial += 1
        self.local.empty_table("IdempotencyTable")
        event_path = self.workdir / f"event-{self.serial}.json"
        result_path = self.workdir / f"result-{self.serial}.json"
        event: dict[str, Any] = {}
        if target.event_path is not None:
            event = lambdaenv.fresh_copy(json.loads(target.event_path.read_text()))
        event_path.write_text(json.dumps(event))
        code = target.child_code(event_path, result_path, trace_calls)
        spawned = time.time()
        done = subprocess.run(
            [sys.executable, "-I", *flags, "-c", code],
            env=target.env,
            cwd=target.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not result_path.exists():
            raise RuntimeError(
                f"{target.name}: the child failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
            )
        result = json.loads(result_path.read_text())
        result_path.unlink()
        event_path.unlink()
        if result["error"]:
            raise RuntimeError(f"{target.name}: the first request raised:\n{result['error']}")
        if target.checked:
            lambdaenv.check_response(target.name, result["response"])
        return Sample(
            init_ms=float(result["init"]) * 1000,
            first_ms=float(result["first"]) * 1000,
            spawn_ms=(float(result["answered"]) - spawned) * 1000,
            modules=int(result["modules"]),
            clients=list(result["clients"]),
            calls=list(result.get("calls", [])),
            profile=dict(result.get("profile") or {}),
            stderr=done.stderr,
        )


def measure(local: LocalAws, runs: int, progress: Callable[[str], None]) -> list[ColdStart]:
    """One unmeasured warm-up per target (bytecode compiled, files cached, moto seeded in template order:
    the page view, the form, scoring, publishing, notifying), then `runs` round-robin rounds, which spread
    machine noise evenly over the floor and the functions."""
    found = targets(local)
    runner = Runner(local)
    results = [ColdStart(t.name, reference=not t.checked and t.name != FLOOR) for t in found]
    for target in found:
        progress(f"cold start: warm-up {target.name}")
        runner.run(target)
    for round_no in range(1, runs + 1):
        progress(f"cold start: round {round_no}/{runs} ({len(found)} fresh interpreters)")
        for target, result in zip(found, results, strict=True):
            sample = runner.run(target)
            result.init_ms.append(sample.init_ms)
            result.first_ms.append(sample.first_ms)
            result.total_ms.append(sample.init_ms + sample.first_ms)
            result.spawn_ms.append(sample.spawn_ms)
            result.modules = sample.modules
            result.clients = sample.clients
    return results


# --- where the time goes: python -X importtime --------------------------------------------------------


@dataclass
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


@dataclass
class Attribution:
    name: str
    init_imports: list[ImportLine]  # what the handler module imports directly, with everything below
    handler_self_us: int | None  # the handler module's own top-level code
    first_imports: list[ImportLine]  # top-level imports made during the first request
    packages: list[tuple[str, int]]  # top-level package -> own import time (us), init and first request
    chains: dict[str, str]  # top-level package -> who first imported it
    calls: list[list[Any]]  # [service, operation, seconds on the wire] of the first request
    profile: dict[str, Any]  # bench.profiling.summarise of the first request


def _parse_importtime(stderr: str) -> tuple[list[ImportLine], list[ImportLine]]:
    init: list[ImportLine] = []
    first: list[ImportLine] = []
    ignored: list[ImportLine] = []  # the bench's own set-up between init and the first request
    current = init
    for line in stderr.splitlines():
        if line.strip() == INIT_MARK:
            current = ignored
            continue
        if line.strip() == IMPORT_MARK:
            current = first
            continue
        if line.strip() == END_MARK:
            break
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        current.append(ImportLine(int(self_us), int(cumulative_us), depth, name.strip()))
    return init, first


def _package(name: str) -> str:
    return name.split(".", 1)[0]


def _chains(lines: list[ImportLine], handler: str) -> dict[str, str]:
    """Package -> the imports that first brought it in, nearest first ('a.b <- c <- leadstream.x').
    importtime prints a module after what it imports: a line's importer is the next one a level up."""
    found: dict[str, str] = {}
    outermost: dict[str, int] = {}
    for index, line in enumerate(lines):
        package = _package(line.name)
        if package not in outermost or line.depth < lines[outermost[package]].depth:
            outermost[package] = index
    for package, index in outermost.items():
        chain: list[str] = []
        depth, last = lines[index].depth, package
        for later in lines[index + 1 :]:
            if later.depth == depth - 1:
                depth -= 1
                if _package(later.name) != last and later.name != handler:
                    chain.append(later.name)
                    last = _package(later.name)
                if depth == 0:
                    break
        if len(chain) > 3:
            chain = [*chain[:2], "…", chain[-1]]
        found[package] = " ← ".join(chain)
    return found


def attribute(local: LocalAws, names: list[str] | None = None) -> list[Attribution]:
    """One more child per function under `python -X importtime`, with the first request's AWS calls."""
    runner = Runner(local)
    found = []
    for target in targets(local):
        if target.name in (TRACER, STACK) or (names and target.name not in names):
            continue
        sample = runner.run(target, ("-X", "importtime"), trace_calls=target.checked)
        init, first = _parse_importtime(sample.stderr)
        module = target.handler_module
        handler = next((i for i in init if i.depth == 0 and i.name == module), None)
        direct: list[ImportLine] = []
        if handler is not None:
            index = init.index(handler)
            # importtime prints children before their parent: the direct imports of the handler module
            # are the depth-1 lines between the previous depth-0 line and the handler's own line.
            start = max((i for i in range(index) if init[i].depth == 0), default=-1) + 1
            direct = [i for i in init[start:index] if i.depth == 1]
        packages: Counter[str] = Counter()
        for line in init + first:
            if line.name != module:
                packages[_package(line.name)] += line.self_us
        found.append(
            Attribution(
                target.name,
                sorted(direct, key=lambda i: -i.cumulative_us),
                handler.self_us if handler is not None and target.checked else None,
                sorted((i for i in first if i.depth == 0), key=lambda i: -i.cumulative_us),
                packages.most_common(),
                {**_chains(first, module), **_chains(init, module)},
                sample.calls,
                sample.profile,
            )
        )
    return found


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.coldstart [Function ...]`: where each function's init and first request go."""
    names = list(sys.argv[1:] if argv is None else argv)
    local = LocalAws()
    try:
        local.fresh()
        runner = Runner(local)
        for target in targets(local):  # seed moto as the warm-up does
            runner.run(target)
        for found in attribute(local, names or None):
            print(f"\n== {found.name}")
            print("init, direct imports of the handler module (cumulative ms):")
            for line in found.init_imports[:15]:
                print(f"  {line.cumulative_us / 1000:8.1f}  {line.name}")
            print("first request, modules imported (cumulative ms):")
            for line in found.first_imports[:15]:
                print(f"  {line.cumulative_us / 1000:8.1f}  {line.name}")
            if found.handler_self_us is not None:
                print(f"handler module's own code: {found.handler_self_us / 1000:.1f} ms")
            print("top-level packages by own import time (ms), first imported by:")
            for package, micros in found.packages[:15]:
                print(f"  {micros / 1000:8.1f}  {package}  ({found.chains.get(package) or '-'})")
            if found.profile:
                print(
                    f"first request, profiled: {found.profile['clients']} botocore clients created "
                    f"({found.profile['clients_ms']:.0f} ms); calls out of the project's code:"
                )
                for label, ms, calls in found.profile["boundary"]:
                    print(f"  {ms:8.1f}  {label} x{calls}")
            print("first request, AWS calls (ms on the wire):")
            for service, op, seconds in found.calls:
                print(f"  {seconds * 1000:8.1f}  {service}.{op}")
    finally:
        local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
