"""Inside a function's process: where its first request spends its time, from a cProfile of that request.

The summary names the calls from the project's own code (the function's CodeUri and the layer's package)
into other code (libraries, the standard library), with their cumulative time: e.g. a model's `save`, a
parser's constructor. A framework entry point the handler function hands the whole request to, and which
calls the project's code back (the HTTP router), is left out: what it runs is counted at the next
crossings. It also counts the botocore clients created during the request, which each load
their service model. Profiling slows everything down: read the figures as shares of the request.
"""

import cProfile
import pstats
from pathlib import Path
from typing import Any

Func = tuple[str, int, str]


def _label(func: Func) -> str:
    filename, _, name = func
    if filename.endswith("bench/awscalls.py") and name == "create_client":
        return "botocore.session.create_client"  # the bench's hook around it
    if "site-packages/" in filename:
        filename = filename.split("site-packages/", 1)[1]
    elif filename.startswith("<"):
        return name
    else:
        filename = Path(filename).name
    return f"{filename.removesuffix('.py').replace('/', '.').removesuffix('.__init__')}.{name}"


def summarise(profiler: cProfile.Profile, roots: list[str], entry: str, top: int = 6) -> dict[str, Any]:
    """{"boundary": [[label, ms, calls], ...], "clients": n, "clients_ms": ms} for one profiled request."""
    stats: dict[Func, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def ours(func: Func) -> bool:
        return any(func[0].startswith(root) for root in roots)

    children: dict[Func, set[Func]] = {}
    for callee, (_, _, _, _, callers) in stats.items():
        for caller in callers:
            children.setdefault(caller, set()).add(callee)

    def calls_back(func: Func) -> bool:
        """A framework entry point (a router, a decorator) that runs the project's code again."""
        seen, todo = {func}, [func]
        while todo:
            for child in children.get(todo.pop(), ()):
                if ours(child):
                    return True
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return False

    total = max((v[3] for v in stats.values()), default=0.0)
    crossings: dict[str, list[float]] = {}
    for callee, (_, _, _, _, callers) in stats.items():
        if ours(callee):
            continue
        for caller, (calls, _, _, cumulative) in callers.items():
            wrapper = caller[2] == entry and cumulative > total / 2 and calls_back(callee)
            if ours(caller) and not wrapper:
                found = crossings.setdefault(_label(callee), [0.0, 0])
                found[0] += cumulative * 1000
                found[1] += calls
    ranked = sorted(crossings.items(), key=lambda c: -c[1][0])
    boundary = [[label, ms, int(n)] for label, (ms, n) in ranked]
    clients = [
        v for k, v in stats.items() if k[2] == "create_client" and k[0].endswith("botocore/session.py")
    ]
    return {
        "boundary": boundary[:top],
        "clients": sum(int(v[1]) for v in clients),
        "clients_ms": sum(float(v[3]) for v in clients) * 1000,
    }
