"""The lb.js snippet as served: minified with rjsmin, and what it weighs gzipped (the budget is 5 KB).

    .venv/bin/python -m bench.snippet            # prints the sizes
    .venv/bin/python -m bench.snippet --write    # regenerates lb.min.js from lb.js, then prints them

GET /v1/lb.js serves the committed lb.min.js; tests/unit/test_snippet_build.py fails when it is stale.
"""

import argparse
import gzip
from pathlib import Path

import rjsmin

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "layers" / "common" / "leadstream" / "static"
SOURCE = STATIC / "lb.js"
MINIFIED = STATIC / "lb.min.js"
BUDGET_BYTES = 5 * 1024


def minified_source() -> str:
    """lb.js minified, exactly as lb.min.js must hold it."""
    return str(rjsmin.jsmin(SOURCE.read_text(encoding="utf-8")))


def gzipped_size() -> int:
    """Bytes on the wire for the minified snippet (gzip level 9, as CDNs and browsers negotiate it)."""
    return len(gzip.compress(minified_source().encode(), compresslevel=9, mtime=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.snippet", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"regenerate {MINIFIED.name} from {SOURCE.name}")
    args = parser.parse_args(argv)
    text = minified_source()
    if args.write:
        MINIFIED.write_text(text, encoding="utf-8")
        print(f"wrote {MINIFIED.relative_to(REPO)}")
    size = gzipped_size()
    print(
        f"lb.js {len(SOURCE.read_bytes())} B, minified {len(text.encode())} B, "
        f"gzipped {size} B ({size / 1024:.2f} KB of a {BUDGET_BYTES // 1024} KB budget)"
    )
    return 0 if size < BUDGET_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
