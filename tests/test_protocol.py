"""The real host process over pipes: every kind of bad input gets an error frame, then the next good
message is answered correctly; stdout carries frames only; replies stay under 1 MiB."""

from __future__ import annotations

import json
import struct

import pytest

from certkit import (OID_CN, b64, der, issue_leaf, load_leaked, make_root, name, raw_certificate, rsa_key)
from hostkit import HostProcess
from native_host.schemas import validate

LIMIT = 1024 * 1024


def _superfish_chain():
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    return [b64(der(leaf)), b64(der(sf_cert))]


def _assert_good_after(host: HostProcess, tag: str) -> None:
    reply = host.request({"type": "check", "id": f"good-{tag}", "chain": _superfish_chain()})
    validate("verdict.reply", reply)
    assert (reply["id"], reply["level"], reply["category"]) == (f"good-{tag}", "banned", "malware-mitm")


def _error(host: HostProcess, code: str, msg_id=None) -> dict:
    reply = host.recv()
    validate("error.reply", reply)
    assert (reply["type"], reply["code"], reply["id"]) == ("error", code, msg_id), reply
    return reply


def test_hello_reply(host):
    reply = host.request({"type": "hello", "id": 1, "client": "test"})
    validate("hello.reply", reply)
    assert reply["blocklist"]["size"] == 116 and reply["protocol"] == 1


@pytest.mark.parametrize("payload,code,msg_id", [
    (b"\xff\xfe{\"type\":1}", "bad_utf8", None),
    (b"{\"type\": \"check\", ", "bad_json", None),        # truncated JSON inside a complete frame
    (b"not json at all", "bad_json", None),
    (b"[1, 2, 3]", "not_object", None),
    (b"42", "not_object", None),
    (b"{\"type\": \"check\", \"id\": 7}", "schema", 7),       # neither chain nor securityInfo
    (b"{\"type\": \"check\", \"id\": 8, \"chain\": \"x\"}", "schema", 8),
    (b"{\"type\": \"frobnicate\", \"id\": 9}", "schema", 9),
    (b"{\"id\": 10}", "schema", 10),
    (b"{\"type\": \"check\", \"id\": 11, \"chain\": [\"%%%not base64\"]}", "bad_base64", 11),
    (b"{\"type\": \"check\", \"id\": 12, \"chain\": [\"aGVsbG8gd29ybGQ=\"]}", "bad_der", 12),
    (b"{\"type\": \"check\", \"id\": 13, \"securityInfo\": {\"state\": \"sideways\"}}", "schema", 13),
    (b"{\"type\": \"probe\", \"id\": 14, \"host\": \"a b\"}", "schema", 14),
])
def test_bad_payload_then_good_message(host, payload, code, msg_id):
    host.send_frame(payload)
    _error(host, code, msg_id)
    _assert_good_after(host, code)


def test_zero_length_frame_then_good(host):
    host.write(struct.pack("=I", 0))
    _error(host, "bad_frame")
    _assert_good_after(host, "zero")


def test_oversized_frame_is_skipped_and_stream_resyncs():
    h = HostProcess("--max-frame", "4096")
    try:
        h.send_frame(b"x" * 10_000)
        assert "10000 bytes" in _error(h, "too_large")["message"]
        _assert_good_after(h, "big")
    finally:
        h.close()


@pytest.mark.slow
def test_length_0xffffffff_discarded_then_good(host):
    """The browser really sends as many bytes as the prefix says: 4 GiB are read and dropped, never stored."""
    host.write(struct.pack("=I", 0xFFFFFFFF))
    _error(host, "too_large")
    chunk = b"\0" * (8 << 20)
    remaining = 0xFFFFFFFF
    while remaining:
        n = min(remaining, len(chunk))
        host.proc.stdin.write(chunk[:n])
        remaining -= n
    host.proc.stdin.flush()
    _assert_good_after(host, "4g")


def test_length_0xffffffff_then_eof_exits_cleanly(host):
    host.write(struct.pack("=I", 0xFFFFFFFF) + b"{}")
    _error(host, "too_large")
    code, rest, _ = host.close()
    assert code == 0 and rest == b""


def test_truncated_frame_at_eof_replies_and_exits_0(host):
    host.write(struct.pack("=I", 100) + b"{\"type\":")
    code, rest, _ = host.close()
    assert code == 0
    (n,) = struct.unpack("=I", rest[:4])
    reply = json.loads(rest[4:4 + n])
    assert reply["code"] == "bad_frame" and "truncated" in reply["message"]


def test_eof_exits_0_and_unknown_argv_ignored():
    h = HostProcess("/home/u/.mozilla/native-messaging-hosts/io.rootsentinel.host.json", "rootsentinel@rootsentinel.io")
    assert h.request({"type": "hello", "id": "a"})["type"] == "hello"
    code, rest, _ = h.close()
    assert (code, rest) == (0, b"")


def test_browser_style_argv_without_subcommand_runs_host():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "native_host", "chrome-extension://abcdefghijklmnopabcdefghijklmnop/"],
                          input=struct.pack("=I", 23) + b'{"type":"hello","id":5}', capture_output=True, timeout=30)
    (n,) = struct.unpack("=I", proc.stdout[:4])
    assert json.loads(proc.stdout[4:4 + n])["id"] == 5 and proc.returncode == 0


def test_negative_serial_root_no_text_on_stdout():
    """DSDTestProvider makes cryptography warn (field report C.12); with warnings forced on, stdout still
    holds nothing but frames."""
    h = HostProcess(env={"PYTHONWARNINGS": "always"})
    pem = (load_leaked.__globals__["LEAKED"] / "dsdtestprovider.crt.pem").read_bytes()
    from native_host.engine.certfacts import pem_blocks
    blob = pem_blocks(pem)[0][1]
    reply = h.request({"type": "check", "id": 1, "chain": [b64(blob)]})
    assert (reply["level"], reply["category"]) == ("banned", "malware-mitm")
    code, rest, _ = h.close()
    assert code == 0 and rest == b""


def test_ten_thousand_san_leaf_reply_under_1mib(host):
    root, key = make_root()
    leaf, _ = issue_leaf(root, key, "big.example", sans=[f"h{i}.big.example" for i in range(10_000)])
    host.send({"type": "check", "id": "big", "chain": [b64(der(leaf)), b64(der(root))]})
    raw = host.recv_raw()
    assert len(raw) < LIMIT
    reply = json.loads(raw)
    assert (reply["level"], reply["truncated"]) == ("interception", False)


def test_huge_names_are_truncated_to_fit(host):
    key = rsa_key()
    certs = []
    for i in range(4):
        subj = name((OID_CN, (f"{i}" + "A" * 400_000).encode()))
        certs.append(b64(raw_certificate(subj, subj, key, [])))
    host.send({"type": "check", "id": "huge", "chain": certs})
    raw = host.recv_raw()
    assert len(raw) < LIMIT
    reply = json.loads(raw)
    assert reply["truncated"] is True and reply["level"] == "interception"
    assert len(reply["names"]["root"]) == 201 and reply["names"]["root"].endswith("\u2026")
    _assert_good_after(host, "huge")


def test_duplicate_extension_and_encoded_default_over_protocol(host):
    from certkit import BASIC_CONSTRAINTS_CA, OID_BASIC_CONSTRAINTS, extension
    key = rsa_key()
    subj = name((OID_CN, b"odd"))
    for crit in (True, False):
        ext = extension(OID_BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_CA, crit)
        blob = raw_certificate(subj, subj, key, [ext, ext] if crit else [ext])
        reply = host.request({"type": "check", "id": str(crit), "chain": [b64(blob)]})
        assert reply["level"] == "interception"
        assert reply["chain"][0]["parse_error"]
