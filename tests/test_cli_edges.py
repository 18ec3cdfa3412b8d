"""CLI edges a person meets first (issue 24, item 11): a bare host name is a probe, ``host:port/path`` too,
``--timeout`` must be a real duration, routing flags are refused for files, a schema error names its file,
and ``rootsentinel host`` typed in a terminal says what it is for instead of hanging."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from certkit import issue_leaf, make_root, pem_chain
from hostkit import tls_server
from native_host.cli import parse_target
from native_host.errors import BadInput
from test_first_hour import one_line, rs
from test_probe_cli import _key_pem

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("target, expected", [
    ("example.org", ("example.org", 443)),
    ("mail.example.co.uk", ("mail.example.co.uk", 443)),
    ("example.org/login?x=1", ("example.org", 443)),
    ("example.org.", ("example.org", 443)),
    ("xn--80ak6aa92e.com", ("xn--80ak6aa92e.com", 443)),
    ("192.0.2.7", ("192.0.2.7", 443)),
    ("[2001:db8::1]", ("2001:db8::1", 443)),
    ("example.org:8443/login", ("example.org", 8443)),
    ("localhost:8443/a/b", ("localhost", 8443)),
    ("[2001:db8::1]:8443/x", ("2001:db8::1", 8443)),
])
def test_a_host_name_or_host_port_path_is_a_probe(target, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no file of that name here
    assert parse_target(target) == expected


@pytest.mark.parametrize("target", ["chain.pem", "chain", "leaf.der", "capture.json", "a.b1", "-x.org", "notes.txt"])
def test_a_missing_file_is_never_taken_for_a_host(target, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match="no such file"):
        parse_target(target)


def test_an_existing_file_named_like_a_host_is_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "example.org").write_text("x")
    assert parse_target("example.org") == Path("example.org")


def test_port_out_of_range_in_host_port_path_is_refused():
    with pytest.raises(BadInput, match="port 70000 is out of range"):
        parse_target("example.org:70000/x")


def test_host_port_path_probes_a_real_server():
    """``host:port/path`` is probed like ``https://host:port/path``: a real TLS server on 127.0.0.1 under a
    private root is judged interception."""
    root, key = make_root("Edge Case Private Root")
    leaf, leaf_key = issue_leaf(root, key, "localhost")
    with tls_server(pem_chain(leaf), _key_pem(leaf_key)) as port:
        out = rs("check", f"127.0.0.1:{port}/some/page", "--json")
    assert out.returncode == 1, out.stderr
    verdict = json.loads(out.stdout)
    assert (verdict["level"], verdict["probe"]["port"]) == ("interception", port)


def test_bare_name_that_does_not_resolve_is_a_probe_failure_not_no_such_file():
    out = rs("check", "no-such-host.invalid", "--json")
    assert out.returncode == 3
    verdict = json.loads(out.stdout)
    assert (verdict["level"], verdict["reason"], verdict["probe"]["host"]) == ("unknown", "probe_failed", "no-such-host.invalid")


@pytest.mark.parametrize("value", ["0", "-1", "-0.5", "nan", "inf", "301"])
def test_timeout_must_be_above_zero(value):
    out = rs("check", "https://example.org", "--timeout", value)
    assert out.returncode == 3 and out.stdout == ""
    assert "--timeout" in out.stderr and "above 0" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("flags", [["--proxy", "http://127.0.0.1:3128"], ["--connect-to", "192.0.2.1"],
                                   ["--proxy", "http://127.0.0.1:3128", "--connect-to", "192.0.2.1"]])
def test_routing_flags_with_a_file_are_refused(flags):
    target = "docs/examples/securityinfo-superfish.json"
    out = rs("check", target, *flags)
    assert out.returncode == 3 and out.stdout == ""
    line = one_line(out.stderr)
    assert "only apply to a probe" in line and target in line
    for flag in flags[::2]:
        assert flag in line


def test_schema_error_names_the_file(tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"certificates": [{"x": 1}]}')
    out = rs("check", str(other))
    assert out.returncode == 3
    line = one_line(out.stderr)
    assert str(other) in line and "'state' is a required property" in line


def test_host_typed_in_a_terminal_says_what_it_is_and_exits_3():
    """stdin is a pseudo-terminal, as when a person types ``rootsentinel host``: one line on stderr, exit 3,
    at once (before the fix it waited for frames forever)."""
    primary, secondary = pty.openpty()
    try:
        env = {**os.environ, "ROOTSENTINEL_CONFIG": str(REPO / "tests" / "no-such-config.json")}
        for argv in (["-m", "native_host", "host"], ["-c", "from native_host.cli import main; raise SystemExit(main(['host']))"]):
            start = time.monotonic()
            proc = subprocess.run([sys.executable, *argv], stdin=secondary, capture_output=True, text=True,
                                  timeout=30, env=env, cwd=REPO)
            assert time.monotonic() - start < 25
            assert proc.returncode == 3, proc
            line = one_line(proc.stderr)
            assert "native messaging host" in line and "rootsentinel check" in line
            assert proc.stdout == ""
    finally:
        os.close(primary)
        os.close(secondary)
