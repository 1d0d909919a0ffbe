"""The command line's own rules: what an origin is, tables a terminal can show safely, progress on stderr."""

import argparse
import io

import pytest

from cli import options, output


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://www.example.com", "https://www.example.com"),
        ("https://www.example.com/", "https://www.example.com"),
        ("HTTPS://WWW.Example.COM:443", "https://www.example.com"),  # as a browser sends it
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_an_origin_is_scheme_host_and_port_as_browsers_send_it(given: str, origin: str) -> None:
    assert options.origin(given) == origin


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("*", "no wildcards"),
        ("https://*.example.com", "no wildcards"),
        ("www.example.com", "give the scheme and host"),
        ("ftp://www.example.com", "give the scheme and host"),
        ("https://", "give the scheme and host"),
        ("https://www.example.com/pricing", "use https://www.example.com"),
        ("https://www.example.com?a=1", "no path, query or fragment"),
        ("https://user:pw@www.example.com", "no user name or password"),
        ("https://www.example.com:99999", "port"),
    ],
)
def test_a_bad_origin_is_refused_with_what_to_write_instead(given: str, says: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        options.origin(given)


def test_a_base_url_needs_a_scheme_and_host() -> None:
    assert options.base_url("https://abc.execute-api.eu-west-1.amazonaws.com/prod/") == (
        "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
    )
    with pytest.raises(argparse.ArgumentTypeError, match="not a URL"):
        options.base_url("127.0.0.1:4599")


def test_a_table_shows_escape_sequences_from_the_data_as_text() -> None:
    out = io.StringIO()
    rows = [{"name": "\x1b]0;owned\x07\x1b[31mRed", "campaign": "a\nb"}, {"name": "Zoë", "campaign": None}]

    output.table(rows, ["name", "campaign"], out)

    shown = out.getvalue()
    assert "\x1b" not in shown
    assert "\x07" not in shown
    name = "\\x1b]0;owned\\x07\\x1b[31mRed"
    assert shown.splitlines() == [f"{'name':{len(name)}}  campaign", f"{name}  a\\nb", "Zoë"]


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_goes_to_its_own_stream_a_line_every_n_items_when_not_a_terminal() -> None:
    err = Stream(tty=False)

    assert list(output.progress(range(25), err, every=10)) == list(range(25))

    assert err.getvalue().splitlines() == ["scanned 10 leads…", "scanned 20 leads…", "scanned 25 leads."]


def test_progress_on_a_terminal_rewrites_one_line() -> None:
    err = Stream(tty=True)

    list(output.progress(range(2_500), err))  # every TTY_EVERY items on a terminal

    assert err.getvalue() == "\rscanned 1,000 leads…\rscanned 2,000 leads…\rscanned 2,500 leads.\n"


def test_a_small_scan_says_nothing_off_a_terminal() -> None:
    err = Stream(tty=False)

    list(output.progress(range(output.LOG_EVERY - 1), err))

    assert err.getvalue() == ""
