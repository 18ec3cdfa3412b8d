"""What a new user meets in the first hour (issue 10, section 2): messages, exit codes, ``--json`` on every
error path, help texts, and ``policy`` for Chromium. Each runs the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def rs(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m native_host ARGS`` with no system config in force; text output."""
    full_env = {**os.environ, "ROOTSENTINEL_CONFIG": str(REPO / "tests" / "no-such-config.json"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "native_host", *args], capture_output=True, text=True,
                          timeout=120, env=full_env, cwd=cwd or REPO)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class _Plain(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def plain_http_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


# --- check: what the target means -------------------------------------------------------------------

def test_plain_http_url_says_there_is_no_certificate():
    out = rs("check", "http://example.org/")
    assert out.returncode == 3 and out.stdout == ""
    line = one_line(out.stderr)
    assert "plain HTTP has no certificate to judge" in line
    assert "https://example.org/" in line and "host:port" in line  # the forms accepted


def test_bare_host_name_says_how_to_probe_it():
    out = rs("check", "localhost")
    assert out.returncode == 3
    line = one_line(out.stderr)
    assert "https://localhost or localhost:PORT" in line
    assert "no such file, and not" not in line


def test_missing_file_is_named_as_a_missing_file():
    out = rs("check", "missing.pem")
    assert out.returncode == 3
    assert one_line(out.stderr).startswith("rootsentinel: missing.pem: no such file")


def test_text_file_is_not_a_certificate(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("0[ this starts like a DER SEQUENCE but is a note\n")  # b"0[" = 0x30 0x5b
    out = rs("check", str(text))
    assert out.returncode == 3
    line = one_line(out.stderr)
    assert "is not a certificate" in line and "truncated DER" not in line


def test_binary_garbage_is_not_a_certificate(tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x30\x82\x05\x00\x01\x02")
    out = rs("check", str(blob))
    assert out.returncode == 3
    assert "is not a certificate" in one_line(out.stderr)


def test_tls_to_a_plain_http_server_says_it_did_not_answer_tls(plain_http_port):
    out = rs("check", f"127.0.0.1:{plain_http_port}", "--json")
    assert out.returncode == 3
    verdict = json.loads(out.stdout)
    assert (verdict["level"], verdict["reason"]) == ("unknown", "probe_failed")
    assert "the server did not answer TLS" in verdict["probe"]["error"]
    assert "wrong version number" not in verdict["probe"]["error"].lower()


def test_connection_refused_is_said_once():
    out = rs("check", f"127.0.0.1:{_free_port()}")
    assert out.returncode == 3
    both = out.stdout + out.stderr
    assert both.count("Connection refused") == 1, both
    assert out.stdout.startswith("UNKNOWN")


# --- --json: one object on every exit-3 path --------------------------------------------------------

@pytest.mark.parametrize("argv, code", [
    (["check", "missing.pem"], "bad_input"),
    (["check", "http://example.org"], "bad_input"),
    (["check", "README.md"], "bad_input"),
    (["check"], "usage"),
    (["check", "x.pem", "--timeout", "soon"], "usage"),
    (["scan", "--root", "/nonexistent-rootsentinel"], "bad_input"),
])
def test_json_error_paths_print_exactly_one_error_object(argv, code):
    out = rs(*argv, "--json")
    assert out.returncode == 3
    obj = json.loads(out.stdout)  # exactly one JSON document, nothing else
    assert obj["type"] == "error" and obj["code"] == code
    assert obj["message"] and "\n" not in obj["message"]
    assert out.stderr.strip()  # and the one line for the human


def test_json_probe_failure_prints_the_unknown_verdict():
    out = rs("check", f"127.0.0.1:{_free_port()}", "--json")
    assert out.returncode == 3
    verdict = json.loads(out.stdout)
    assert (verdict["type"], verdict["level"]) == ("verdict", "unknown")


# --- help texts -------------------------------------------------------------------------------------

def test_top_level_help_has_no_markup_and_says_what_it_is():
    out = rs("--help")
    assert out.returncode == 0
    assert "``" not in out.stdout and "second face" not in out.stdout
    assert "intercepted" in out.stdout


def test_host_help_says_what_it_is_for():
    out = rs("host", "--help")
    assert out.returncode == 0
    assert "native messaging host" in out.stdout and "rootsentinel install" in out.stdout
    assert "cap on incoming frames in bytes\n" not in out.stdout


def _option_help(help_text: str, option: str) -> str:
    """The help text printed for ``option`` (the rest of its line, or the next line when the flag is long)."""
    lines = help_text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(option + " ") or stripped == option or stripped.startswith(option + ","):
            rest = stripped[len(option):].strip()
            if rest.startswith(("{", "HEX", "DIR")):  # the metavar: help follows it or is on the next line
                rest = rest.split(None, 1)[1] if " " in rest else ""
            if not rest and i + 1 < len(lines) and lines[i + 1].startswith(" " * 10):
                rest = lines[i + 1].strip()
            return rest
    raise AssertionError(f"{option} not in help")


def test_uninstall_scope_has_help():
    out = rs("uninstall", "--help")
    assert _option_help(out.stdout, "--scope {user,system}")


@pytest.mark.parametrize("option", ["--browser {firefox,chrome,chromium,edge,brave}", "--mode {warn,enforce}",
                                    "--capture {probe,debugger}", "--ban-spki-sha256 HEX[=REASON]",
                                    "--ban-cert-sha256 HEX[=REASON]", "--no-notifications", "--no-probing",
                                    "--no-audit"])
def test_policy_options_have_help(option):
    out = rs("policy", "--help")
    assert out.returncode == 0
    assert _option_help(out.stdout, option), option


# --- policy for Chromium ----------------------------------------------------------------------------

def test_policy_for_chromium_with_capture_mode():
    ext_id = "abcdefghijklmnopabcdefghijklmnop"
    out = rs("policy", "--browser", "chromium", "--extension-id", ext_id, "--capture", "debugger")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["NativeMessagingAllowlist"] == ["io.rootsentinel.host"]
    assert doc["ExtensionInstallForcelist"] == [f"{ext_id};https://clients2.google.com/service/update2/crx"]
    settings = doc["3rdparty"]["extensions"][ext_id]
    schema = json.loads((REPO / "extension/managed_schema.json").read_text())
    assert settings["capture"] == "debugger" and "debugger" in schema["properties"]["capture"]["enum"]


def test_policy_capture_is_refused_for_firefox():
    out = rs("policy", "--browser", "firefox", "--capture", "probe")
    assert out.returncode == 3 and out.stdout == ""
    assert "Chromium-family" in one_line(out.stderr)


def test_enterprise_doc_chromium_policy_folder_matches_the_verb():
    doc = (REPO / "docs/enterprise.md").read_text()
    assert "/etc/chromium/policies/managed/" in doc
    assert rs("policy", "--browser", "chromium").returncode == 0


# --- the README's examples --------------------------------------------------------------------------

def test_committed_securityinfo_example_is_judged_banned():
    example = REPO / "docs/examples/securityinfo-superfish.json"
    readme = (REPO / "README.md").read_text()
    assert "rootsentinel check docs/examples/securityinfo-superfish.json" in readme
    out = rs("check", str(example), "--json")
    assert out.returncode == 2, out.stderr
    verdict = json.loads(out.stdout)
    assert (verdict["level"], verdict["category"], verdict["evidence"]) == ("banned", "malware-mitm", "securityInfo")
    assert verdict["chain"][-1]["spki_sha256"] == "4bb8f35ba1e126f8dde1b0c420625ed86dce61a7bddadbdea9aba578ff13145e"


def test_readme_says_how_to_get_the_command_on_path():
    readme = (REPO / "README.md").read_text()
    assert ". .venv/bin/activate" in readme and "pipx install ." in readme
    assert readme.index("make run ") < readme.index("make test ")  # the first two commands stay first
