"""What the web app ships, as WebFunction serves it: the bytes of a first page load, gzipped.

    .venv/bin/python -m bench.webapp

A first load is the page at /app and everything it asks for before it can sign in: its stylesheet, icon
and module preloads, and every module reachable from js/main.js by static imports (each screen's module
is imported by the shell, so all of them are in it). Sizes are WebFunction's own: gzip level 9 where it
compresses (it does for every text file it serves). The budget keeps a phone on a slow network in mind.
"""

import gzip
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "functions" / "web" / "static"
BUDGET_BYTES = 60 * 1024  # gzipped, the whole first load
PAGE_REFERENCE = re.compile(r'(?:href|src)="app/([^"]+)"')
STATIC_IMPORT = re.compile(
    r"""(?:\bimport|\bexport)\b[^"';]*?\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']"""
)


@dataclass(frozen=True)
class Shipped:
    path: str  # under static/
    bytes: int
    gzipped: int


def _gzipped(body: bytes) -> int:
    return min(len(body), len(gzip.compress(body, compresslevel=9, mtime=0)))


def imports(module: PurePosixPath) -> list[PurePosixPath]:
    """The modules `module` (a path under static/) imports statically, as paths under static/."""
    text = (STATIC / module).read_text(encoding="utf-8")
    found = [a or b for a, b in STATIC_IMPORT.findall(text)]
    resolved = []
    for target in found:
        parts: list[str] = list(module.parent.parts)
        for part in PurePosixPath(target).parts:
            if part == "..":
                parts.pop()
            elif part != ".":
                parts.append(part)
        resolved.append(PurePosixPath(*parts))
    return resolved


def first_load() -> list[Shipped]:
    """Every file a first visit to /app downloads, in the order found."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    queue = [PurePosixPath(path) for path in PAGE_REFERENCE.findall(page)]
    seen: list[PurePosixPath] = [PurePosixPath("index.html")]
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.append(current)
        if current.suffix == ".js":
            queue.extend(imports(current))
    return [
        Shipped(str(p), len((STATIC / p).read_bytes()), _gzipped((STATIC / p).read_bytes())) for p in seen
    ]


def section() -> list[str]:
    """docs/performance.md's section on the web app (make bench writes it; so does --write)."""
    shipped = first_load()
    total, raw = sum(s.gzipped for s in shipped), sum(s.bytes for s in shipped)
    return [
        "",
        "## The web app's first load",
        "",
        "What a first visit to `/app` downloads before the sign-in form shows (`python -m bench.webapp`):",
        "the page, its stylesheet and icon, and every module the shell imports statically, as WebFunction",
        "serves them (gzip level 9). Later visits revalidate with ETags (304s) and keep the versioned vendor",
        "files.",
        "",
        "| files | bytes | gzipped bytes | budget |",
        "|---:|---:|---:|---:|",
        f"| {len(shipped)} | {raw} | **{total}** | {BUDGET_BYTES} |",
        "",
        "| file | bytes | gzipped |",
        "|---|---:|---:|",
        *[f"| `{item.path}` | {item.bytes} | {item.gzipped} |" for item in shipped],
    ]


def main() -> int:
    shipped = first_load()
    width = max(len(s.path) for s in shipped)
    for item in shipped:
        print(f"{item.path:<{width}}  {item.bytes:>7} B  {item.gzipped:>6} B gzipped")
    total, raw = sum(s.gzipped for s in shipped), sum(s.bytes for s in shipped)
    print(
        f"first load: {len(shipped)} files, {raw} B, {total} B gzipped "
        f"({total / 1024:.1f} KB of a {BUDGET_BYTES // 1024} KB budget)"
    )
    return 0 if total <= BUDGET_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
