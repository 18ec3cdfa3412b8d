"""Hostile input (issue 13), each against the real host process or the real CLI process: after every
hostile message the host answers the next good message correctly; the CLI never leaves a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from certkit import b64, der, issue_leaf, load_leaked, make_root, pem_chain
from hostkit import HostProcess, tls_server
from native_host.schemas import validate
from native_host.textsafe import is_unsafe

ROOT = Path(__file__).parent.parent


# --- helpers -------------------------------------------------------------------------------------------


def _superfish_chain():
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    return [b64(der(leaf)), b64(der(sf_cert))]


def _good_after(host: HostProcess, tag: str) -> None:
    """The next good message after a hostile one is answered correctly."""
    reply = host.request({"type": "check", "id": f"good-{tag}", "chain": _superfish_chain()})
    validate("verdict.reply", reply)
    assert (reply["id"], reply["level"], reply["category"]) == (f"good-{tag}", "banned", "malware-mitm")


def _error(host: HostProcess, code: str, msg_id=None, timeout: float = 20.0) -> dict:
    reply = host.recv(timeout)
    validate("error.reply", reply)
    assert (reply["type"], reply["code"], reply["id"]) == ("error", code, msg_id), reply
    return reply


def _cli(*args: str, env: dict | None = None, input_: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "native_host", *args], capture_output=True, timeout=120,
                          env={**os.environ, **(env or {})}, input=input_)


def _one_line_exit_3(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 3, (proc.returncode, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@contextlib.contextmanager
def stalling_servers(n: int, *, accept: bool = False):
    """``n`` TCP listeners on 127.0.0.1 that complete the TCP handshake and never say a TLS word.

    Yields the ports, and (with ``accept``) a list that counts accepted connections per port.
    """
    socks, counts, stop = [], {}, threading.Event()
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(256)  # the kernel completes up to 256 handshakes without accept()
        socks.append(s)
        counts[s.getsockname()[1]] = 0
    held: list[socket.socket] = []

    def acceptor(s):
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = s.accept()
            except (TimeoutError, OSError):
                continue
            counts[s.getsockname()[1]] += 1
            held.append(conn)

    threads = [threading.Thread(target=acceptor, args=(s,), daemon=True) for s in socks] if accept else []
    for t in threads:
        t.start()
    try:
        yield [s.getsockname()[1] for s in socks], counts
    finally:
        stop.set()
        for t in threads:
            t.join()
        for s in socks + held:
            s.close()


@pytest.fixture(scope="module")
def private_tls():
    """A TLS server presenting a leaf under a fresh private root: ``(port, root cert)``."""
    root, key = make_root("Hostile Test Root")
    leaf, leaf_key = issue_leaf(root, key, "localhost")
    from cryptography.hazmat.primitives import serialization

    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    with tls_server(pem_chain(leaf, root), key_pem) as port:
        yield port, root


# --- 1. lone surrogates --------------------------------------------------------------------------------


def test_lone_surrogate_id_is_bad_json_and_host_keeps_serving(host):
    host.send_frame(b'{"type":"hello","id":"\\ud800"}')
    _error(host, "bad_json", None)
    assert host.proc.poll() is None
    _good_after(host, "surrogate-id")


def test_lone_surrogate_url_keeps_the_clean_id(host):
    host.send_frame(json.dumps({"type": "check", "id": 41, "url": "https://a.example/\udc00",
                                "chain": _superfish_chain()}).encode())
    assert "surrogate" in _error(host, "bad_json", 41)["message"]
    _good_after(host, "surrogate-url")


def test_surrogate_pair_is_fine(host):
    reply = host.request({"type": "check", "id": "\U0001F600", "url": "https://a.example/\U0001F600",
                          "chain": _superfish_chain()})
    assert (reply["id"], reply["url"], reply["level"]) == ("\U0001F600", "https://a.example/\U0001F600", "banned")


# --- 2. errors that said "internal" ---------------------------------------------------------------------


@pytest.mark.parametrize("payload", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"type":"check","id":1,"x":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
], ids=["array-100k", "object-member-5k", "objects-3k"])
def test_deep_nesting_is_bad_json(host, payload):
    host.send_frame(payload)
    assert "nested too deep" in _error(host, "bad_json", None)["message"]
    _good_after(host, "deep")


def test_five_thousand_digit_id_is_bad_json(host):
    host.send_frame(b'{"type":"hello","id":' + b"7" * 5000 + b"}")
    _error(host, "bad_json", None)
    _good_after(host, "digits")


@pytest.mark.parametrize("name", ["a" * 64 + ".example", "...", "a..b"])
def test_probe_of_an_invalid_host_name_is_a_probe_failed_verdict(host, name):
    reply = host.request({"type": "probe", "id": "p", "host": name, "port": 443})
    validate("verdict.reply", reply)
    assert (reply["type"], reply["level"], reply["reason"]) == ("verdict", "unknown", "probe_failed"), reply
    assert "not a valid host name" in reply["probe"]["error"]
    _good_after(host, "label")


def test_float_port_is_probed_as_an_integer(host, private_tls):
    port, _ = private_tls
    reply = host.request({"type": "probe", "id": "f", "host": "127.0.0.1", "port": float(port)})
    validate("verdict.reply", reply)
    assert (reply["level"], reply["probe"]["port"], reply["probe"]["error"]) == ("interception", port, None)
    assert reply["names"]["root"] == "Hostile Test Root"
    _good_after(host, "float-port")


# --- 3. probes block each other and outlive the browser --------------------------------------------------


def test_good_probe_is_answered_under_a_flood_of_stalling_probes(private_tls):
    """16 probes to servers that never speak TLS, then a good one: it is answered well before the
    stalling ones time out (before: 20.3 s, after the extension's 20 s wait). Figures: bench/bench_hostile.py."""
    good_port, _ = private_tls
    h = HostProcess()
    try:
        with stalling_servers(16) as (ports, _):
            for i, p in enumerate(ports):
                h.send({"type": "probe", "id": f"stall-{i}", "host": "127.0.0.1", "port": p})
            started = time.monotonic()
            h.send({"type": "probe", "id": "good", "host": "127.0.0.1", "port": good_port})
            first = h.recv(timeout=4.5)  # every stalling probe takes its whole 5 s handshake timeout
            elapsed = time.monotonic() - started
            assert (first["id"], first["level"]) == ("good", "interception"), (first, elapsed)
            stalled = [h.recv(timeout=15) for _ in ports]
            assert sorted(r["id"] for r in stalled) == sorted(f"stall-{i}" for i in range(16))
            assert {(r["level"], r["reason"]) for r in stalled} == {("unknown", "probe_failed")}
        _good_after(h, "flood")
    finally:
        h.close()


def test_one_probe_per_origin_in_flight_each_id_answered():
    h = HostProcess()
    try:
        with stalling_servers(1, accept=True) as (ports, counts):
            for i in range(5):
                h.send({"type": "probe", "id": i, "host": "127.0.0.1", "port": ports[0], "url": f"https://x/{i}"})
            replies = [h.recv(timeout=15) for _ in range(5)]
            assert counts[ports[0]] == 1  # one TCP connection for the five requests
        assert sorted(r["id"] for r in replies) == list(range(5))
        assert all(r["url"] == f"https://x/{r['id']}" and r["reason"] == "probe_failed" for r in replies)
        _good_after(h, "shared")
    finally:
        h.close()


def test_overflow_is_answered_busy_at_once():
    from native_host.messaging.host import PROBE_QUEUE, PROBE_WORKERS

    n = PROBE_WORKERS + PROBE_QUEUE
    h = HostProcess()
    try:
        with stalling_servers(n + 3) as (ports, _):
            for i, p in enumerate(ports):
                h.send({"type": "probe", "id": i, "host": "127.0.0.1", "port": p})
            busy = [h.recv(timeout=4) for _ in range(3)]  # long before any stalling probe times out
            assert sorted(r["id"] for r in busy) == [n, n + 1, n + 2]
            for r in busy:
                validate("verdict.reply", r)
                assert (r["level"], r["reason"]) == ("unknown", "busy")
            _good_after(h, "busy")  # checks are never queued behind probes
        code, _, _ = h.close(timeout=10)
        assert code == 0
    finally:
        if h.proc.poll() is None:
            h.proc.kill()


def test_eof_cancels_queued_probes_and_exits_promptly():
    """40 probes queued behind stalling servers, then stdin closes: the host exits within a second or two
    (before: 40 s), answering the queued ones ``busy`` while its stdout is still open."""
    from native_host.messaging.host import PROBE_WORKERS

    h = HostProcess()
    with stalling_servers(PROBE_WORKERS + 40) as (ports, _):
        for i, p in enumerate(ports):
            h.send({"type": "probe", "id": i, "host": "127.0.0.1", "port": p})
        assert h.request({"type": "hello", "id": "h"})["type"] == "hello"  # all probes were read
        started = time.monotonic()
        code, rest, _ = h.close(timeout=5)
        elapsed = time.monotonic() - started
    assert code == 0, elapsed
    replies = []
    while rest:
        n = int.from_bytes(rest[:4], sys.byteorder)
        replies.append(json.loads(rest[4:4 + n]))
        rest = rest[4 + n:]
    assert len([r for r in replies if r["reason"] == "busy"]) == 40


# --- 4. a signed but absurd blocklist ---------------------------------------------------------------------


def _absurd_site(tmp_path, name_len: int):
    from test_blocklist_update import Publisher

    (tmp_path / "etc").mkdir()
    (tmp_path / "updates").mkdir()
    pub = Publisher(tmp_path / "updates")
    config = tmp_path / "etc" / "config.json"
    config.write_text(json.dumps({"blocklist_public_key": pub.public_b64}))
    doc = pub.document("2026.12.05")
    for entry in doc["entries"]:
        if entry["name"].startswith("Superfish"):
            entry["name"] = "Superfish " + "N" * name_len
    from native_host.engine.blocklist import canonical_entries_sha256

    doc["sha256"] = canonical_entries_sha256(doc["entries"])
    return pub, config, doc


def test_sign_and_install_refuse_a_3mb_entry_name(tmp_path):
    pub, config, doc = _absurd_site(tmp_path, 3_000_000)
    key = tmp_path / "publisher.key"
    from native_host.enterprise import blocklist_update as bu

    key.write_bytes(bu.private_key_pem(pub.key))
    unsigned = tmp_path / "updates" / "absurd.json"
    unsigned.write_text(json.dumps(doc))
    env = {"ROOTSENTINEL_CONFIG": str(config)}
    err = _one_line_exit_3(_cli("blocklist", "sign", str(unsigned), "--key", str(key), env=env))
    assert "is not signed" in err and not bu.signature_path(unsigned).exists()
    signed = pub.write("2026.12.05", doc=doc)  # signed by the publisher's own tooling
    err = _one_line_exit_3(_cli("blocklist", "install", str(signed), env=env))
    assert "not a valid blocklist" in err
    assert not (tmp_path / "etc" / "blocklist" / "current").exists()


def test_planted_absurd_list_with_a_matching_digest_still_gives_a_reply(tmp_path):
    """Someone who can write the blocklist dir plants a signed list with a 3 MB name and its digest (the
    installer would have refused it): the host's replies still fit (names cut like root names)."""
    from native_host.enterprise import blocklist_update as bu

    pub, config, doc = _absurd_site(tmp_path, 3_000_000)
    data = json.dumps(doc).encode()
    bl_dir = tmp_path / "etc" / "blocklist"
    bl_dir.mkdir(mode=0o755)
    target = bl_dir / "blocklist-2026.12.05.json"
    target.write_bytes(data)
    bu.signature_path(target).write_bytes(bu.sign_bytes(data, pub.key))
    bu.verified_path(target).write_text(bu._sha256_hex(data) + "\n")
    (bl_dir / "current").write_text(target.name + "\n")
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(config)})
    try:
        assert h.request({"type": "hello", "id": 1})["blocklist"]["version"] == "2026.12.05"
        h.send({"type": "check", "id": 2, "chain": _superfish_chain()})
        raw = h.recv_raw()
        assert len(raw) < 1024 * 1024
        reply = json.loads(raw)
        validate("verdict.reply", reply)
        assert reply["level"] == "banned" and len(reply["matched"]["entry"]["name"]) == 201
        assert reply["names"]["entry"] == reply["matched"]["entry"]["name"] and len(reply["explanation"]) < 1000
        _good_after(h, "absurd")
    finally:
        h.close()


def test_planted_list_without_digest_gets_the_full_check(tmp_path):
    from native_host.enterprise import blocklist_update as bu

    pub, config, doc = _absurd_site(tmp_path, 3_000_000)
    data = json.dumps(doc).encode()
    bl_dir = tmp_path / "etc" / "blocklist"
    bl_dir.mkdir(mode=0o755)
    target = bl_dir / "blocklist-2026.12.05.json"
    target.write_bytes(data)
    bu.signature_path(target).write_bytes(bu.sign_bytes(data, pub.key))
    (bl_dir / "current").write_text(target.name + "\n")
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(config)})
    try:
        hello = h.request({"type": "hello", "id": 1})
        assert hello["blocklist"]["version"] == "2026.11.29" and "not a valid blocklist" in hello["config_error"]
        _good_after(h, "no-digest")
    finally:
        h.close()


def test_a_list_changed_after_install_is_refused(tmp_path):
    """The digest is of the bytes the installer validated: a re-signed different list is refused."""
    from native_host.enterprise import blocklist_update as bu

    pub, config, doc = _absurd_site(tmp_path, 10)
    env = {"ROOTSENTINEL_CONFIG": str(config)}
    assert _cli("blocklist", "install", str(pub.write("2026.12.05", doc=doc)), env=env).returncode == 0
    target = tmp_path / "etc" / "blocklist" / "blocklist-2026.12.05.json"
    assert bu.verified_path(target).read_text().strip() == bu._sha256_hex(target.read_bytes())
    doc["entries"] = doc["entries"][:5]
    doc["size"] = 5
    from native_host.engine.blocklist import canonical_entries_sha256

    doc["sha256"] = canonical_entries_sha256(doc["entries"])
    data = json.dumps(doc).encode()
    target.write_bytes(data)
    bu.signature_path(target).write_bytes(bu.sign_bytes(data, pub.key))
    h = HostProcess(env=env)
    try:
        hello = h.request({"type": "hello", "id": 1})
        assert hello["blocklist"]["size"] == 116 and "not the file the installer validated" in hello["config_error"]
    finally:
        h.close()


# --- 5. the CLI's 64-certificate cap -----------------------------------------------------------------------


def _isrg_root_x1_pem() -> bytes:
    """The real ISRG Root X1 (tests/fixtures/letsencrypt, with provenance)."""
    return (Path(__file__).parent / "fixtures" / "letsencrypt" / "isrg-root-x1.pem").read_bytes()


@pytest.mark.parametrize("form", ["pem", "der"])
def test_a_file_of_more_than_64_certificates_is_refused(tmp_path, form):
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    filler_root, filler_key = make_root("Filler")
    fillers = [issue_leaf(filler_root, filler_key, f"f{i}.example")[0] for i in range(62)]
    from cryptography import x509

    isrg = x509.load_pem_x509_certificate(_isrg_root_x1_pem())
    certs = [leaf, *fillers, isrg, sf_cert]  # 65: the Superfish root is the 65th
    path = tmp_path / f"chain.{form}"
    path.write_bytes(pem_chain(*certs) if form == "pem" else b"".join(der(c) for c in certs))
    proc = _cli("check", str(path))
    err = _one_line_exit_3(proc)
    assert "65 certificates" in err and proc.stdout == b""
    # 64 (without the filler that pushes the root out) is judged, and the Superfish root is found
    path.write_bytes(pem_chain(leaf, *fillers[:61], isrg, sf_cert))
    proc = _cli("check", str(path), "--json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["category"] == "malware-mitm"


# --- 6. tracebacks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["a..b:443", "https://" + "a" * 64 + ".example/"])
def test_cli_bad_host_names_are_one_line_exit_3(target):
    proc = _cli("check", target)
    # An unknown verdict is the output (issue 10: the reason is printed once, on stdout, not again on stderr).
    assert proc.returncode == 3 and b"Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.startswith(b"UNKNOWN\n") and b"not a valid host name" in proc.stdout


def test_cli_refuses_port_0():
    err = _one_line_exit_3(_cli("check", "https://127.0.0.1:0/"))
    assert "port 0" in err


def test_cli_json_with_a_lone_surrogate_in_the_file(tmp_path):
    from certkit import security_info

    sf_cert, _ = load_leaked("superfish")
    info = security_info([der(sf_cert)], raw=False)
    info["certificates"][0]["subject"] = "CN=evil\udc00"
    path = tmp_path / "si.json"
    path.write_text(json.dumps(info))  # ensure_ascii: the file holds the escape \udc00
    proc = _cli("check", str(path), "--json")
    assert proc.returncode == 2, proc.stderr
    verdict = json.loads(proc.stdout)
    assert verdict["chain"][0]["subject"] == "CN=evil\udc00"
    proc = _cli("check", str(path))
    assert proc.returncode == 2 and b"CN=evil\\udc00" in proc.stdout


# --- 7. output filters -----------------------------------------------------------------------------------------

HOSTILE = "\u200f\u061c\u2028\u2029\u200b\ufeff\u009b31m\u0085\u202e\x1b[2Jevil"


def _unsafe_in(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if is_unsafe(c) and c != "\n"})


def test_cli_text_and_json_never_print_a_control_or_bidi_character(tmp_path):
    root, _ = make_root("Root " + HOSTILE)
    path = tmp_path / "r.pem"
    path.write_bytes(pem_chain(root))
    text = _cli("check", str(path))
    assert text.returncode == 1
    out = text.stdout.decode("utf-8")
    assert _unsafe_in(out) == [] and "\\u202e" in out and "\\x1b" in out
    js = _cli("check", str(path), "--json")
    assert js.returncode == 1
    raw = js.stdout.decode("utf-8")
    assert _unsafe_in(raw) == []
    assert json.loads(raw)["names"]["root"] == "Root " + HOSTILE  # the value itself is unchanged


def test_audit_events_are_one_line_each(tmp_path):
    log, config = tmp_path / "audit.jsonl", tmp_path / "config.json"
    config.write_text(json.dumps({"audit": True, "audit_log": str(log)}))
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(config)})
    try:
        for i in range(4):
            root, key = make_root(f"Root {i} " + HOSTILE)
            leaf, _ = issue_leaf(root, key, f"h{i}.example")
            reply = h.request({"type": "check", "id": i, "url": f"https://h{i}.example/\u0085\u2028",
                               "chain": [b64(der(leaf)), b64(der(root))]})
            assert reply["level"] == "interception"
    finally:
        assert h.close()[0] == 0
    text = log.read_bytes().decode("utf-8")
    assert len(text.splitlines()) == 4 and _unsafe_in(text) == []
    events = [json.loads(line) for line in text.splitlines()]
    assert all(HOSTILE in e["message"] for e in events)  # the values are kept, only written escaped


# --- 8. files ---------------------------------------------------------------------------------------------------


@pytest.fixture
def install_site(tmp_path):
    from test_blocklist_update import Publisher

    (tmp_path / "etc").mkdir()
    (tmp_path / "updates").mkdir()
    pub = Publisher(tmp_path / "updates")
    config = tmp_path / "etc" / "config.json"
    config.write_text(json.dumps({"blocklist_public_key": pub.public_b64}))
    bl_dir = tmp_path / "etc" / "blocklist"
    bl_dir.mkdir(mode=0o755)
    return pub, {"ROOTSENTINEL_CONFIG": str(config)}, bl_dir


@pytest.mark.skipif(os.name == "nt", reason="POSIX symlinks and modes")
def test_a_symlink_planted_as_the_install_lock_is_not_followed(tmp_path, install_site):
    pub, env, bl_dir = install_site
    victim = tmp_path / "victim"
    (bl_dir / ".install.lock").symlink_to(victim)
    err = _one_line_exit_3(_cli("blocklist", "install", str(pub.write("2026.12.05")), env=env))
    assert "cannot lock" in err
    assert not victim.exists() and not (bl_dir / "current").exists()


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize("mode", [0o777, 0o775, 0o1777])
def test_install_refuses_a_directory_others_can_write(install_site, mode):
    pub, env, bl_dir = install_site
    bl_dir.chmod(mode)
    err = _one_line_exit_3(_cli("blocklist", "install", str(pub.write("2026.12.05")), env=env))
    assert "other users can write" in err and list(bl_dir.iterdir()) == []
    bl_dir.chmod(0o755)
    assert _cli("blocklist", "install", str(pub.write("2026.12.05")), env=env).returncode == 0


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_atomic_write_sets_the_mode_on_the_descriptor_not_the_path(tmp_path, monkeypatch):
    """A chmod by path after close could be redirected by swapping the temp name for a link."""
    from native_host.enterprise import blocklist_update as bu

    def no_chmod_by_path(*a, **k):
        raise AssertionError("chmod by path")

    monkeypatch.setattr(os, "chmod", no_chmod_by_path)
    target = tmp_path / "f"
    bu.atomic_write(target, b"x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 and target.read_bytes() == b"x"


def test_install_root_keeps_every_path_under_the_root(tmp_path):
    root = tmp_path / "R"
    outside = tmp_path / "outside"
    depth = len(root.parts)  # enough ".." to climb from R's mapping to "/"
    env = {"XDG_CONFIG_HOME": "/" + "../" * depth + str(outside).lstrip("/"), "HOME": "/home/u"}
    proc = _cli("install", "--browser", "chrome", "--os", "linux", "--scope", "user", "--root", str(root),
                "--host-path", "/opt/rs/host", env=env)
    assert proc.returncode == 0, proc.stderr
    assert not outside.exists()
    written = [p for p in root.rglob("*") if p.is_file()]
    assert written and all(root in p.parents for p in written)
    assert (root / str(outside).lstrip("/") / "google-chrome/NativeMessagingHosts/io.rootsentinel.host.json").is_file()


@pytest.mark.skipif(os.name == "nt", reason="POSIX symlinks")
def test_install_root_refuses_a_link_out_of_the_root(tmp_path):
    root, outside = tmp_path / "R", tmp_path / "outside"
    (root / "home" / "u").mkdir(parents=True)
    outside.mkdir()
    (root / "home" / "u" / ".config").symlink_to(outside)
    proc = _cli("install", "--browser", "chrome", "--os", "linux", "--scope", "user", "--root", str(root),
                "--host-path", "/opt/rs/host", env={"HOME": "/home/u", "XDG_CONFIG_HOME": ""})
    assert proc.returncode == 3 and "outside the root" in proc.stderr.decode()
    assert list(outside.iterdir()) == []
