"""The served snippet is the committed lb.min.js: it must be exactly lb.js minified, and small."""

from bench.snippet import MINIFIED, gzipped_size, minified_source

BUDGET_BYTES = 5 * 1024


def test_lb_min_js_is_lb_js_minified():
    assert MINIFIED.read_text(encoding="utf-8") == minified_source(), (
        "lb.min.js is stale: run `.venv/bin/python -m bench.snippet --write` and commit it with lb.js"
    )


def test_the_snippet_is_under_5_kb_gzipped():
    assert gzipped_size() < BUDGET_BYTES
