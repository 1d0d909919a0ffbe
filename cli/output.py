"""What the command line prints: tables whose values cannot steer the terminal, and progress on stderr."""

from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from leadstream.notifications.message import for_terminal

# Progress on a long scan: on a terminal a line rewritten in place every TTY_EVERY items; otherwise (a log,
# CI) a line every LOG_EVERY items, so only a large table writes any.
TTY_EVERY = 1_000
LOG_EVERY = 10_000


def cell(value: object) -> str:
    """A value read from a table (typed by a visitor or an operator), safe to show in a terminal."""
    return for_terminal("" if value is None else str(value))


def table(rows: list[dict[str, Any]], columns: list[str], out: TextIO) -> None:
    if not rows:
        print("(none)", file=out)
        return
    shown = [{c: cell(row.get(c, "")) for c in columns} for row in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in shown)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip(), file=out)
    for row in shown:
        print("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip(), file=out)


def progress[T](
    items: Iterable[T], out: TextIO, noun: str = "leads", every: int | None = None, verb: str = "scanned"
) -> Iterator[T]:
    """`items`, saying on `out` (stderr, never stdout) how many went by: "scanned 10,000 leads…". On a
    terminal the line is rewritten in place; elsewhere each report is a line of its own."""
    tty = out.isatty()
    step = every or (TTY_EVERY if tty else LOG_EVERY)
    count = 0
    for count, item in enumerate(items, 1):
        if count % step == 0:
            out.write(f"\r{verb} {count:,} {noun}…" if tty else f"{verb} {count:,} {noun}…\n")
            out.flush()
        yield item
    if count >= step:
        out.write(f"\r{verb} {count:,} {noun}.\n" if tty else f"{verb} {count:,} {noun}.\n")
        out.flush()
