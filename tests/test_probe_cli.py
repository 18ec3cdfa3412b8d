"""The probe and the CLI against local TLS servers on 127.0.0.1 presenting real chains."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certkit import issue_leaf, load_leaked, make_root, new_key, pem_chain
from hostkit import tls_server
from native_host.engine.publicroots import store

LE = Path(__file__).parent / "fixtures" / "letsencrypt"


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _check(*args: str) -> tuple[int, dict, str]:
    out = subprocess.run([sys.executable, "-m", "native_host", "check", *args, "--json"],
                         capture_output=True, text=True, timeout=60)
    return out.returncode, (json.loads(out.stdout) if out.stdout.strip() else {}), out.stderr


def test_superfish_server_is_banned():
    sf_cert, sf_key = load_leaked("superfish")
    leaf, leaf_key = issue_leaf(sf_cert, sf_key, "127.0.0.1", sans=["127.0.0.1", "localhost"])
    with tls_server(pem_chain(leaf), _key_pem(leaf_key)) as port:  # the root is not sent
        code, verdict, _ = _check(f"https://127.0.0.1:{port}/")
    assert code == 2
    assert (verdict["level"], verdict["category"], verdict["evidence"]) == ("banned", "malware-mitm", "probe")
    assert "Superfish" in verdict["matched"]["entry"]["name"]
    assert verdict["probe"]["port"] == port and verdict["probe"]["sni"] is None  # no SNI for an IP literal


def test_private_root_server_is_interception():
    root, root_key = make_root()
    inter, inter_key = issue_leaf(root, root_key, "Test Intermediate", ca=True, sans=[], cn="Test Intermediate")
    leaf, leaf_key = issue_leaf(inter, inter_key, "localhost", sans=["localhost"])
    with tls_server(pem_chain(leaf, inter), _key_pem(leaf_key)) as port:
        code, verdict, _ = _check(f"localhost:{port}")
    assert code == 1
    assert (verdict["level"], verdict["reason"]) == ("interception", "non_public_anchor")
    assert verdict["probe"]["sni"] == "localhost"
    assert [r["role"] for r in verdict["chain"]] == ["leaf", "intermediate"]


def test_leaf_naming_a_real_mozilla_root_is_not_ok():
    """Before issue 11 this was ``ok`` (exit 0): the probe never checked the leaf's signature."""
    root_der = next(r.facts.der for r in store().roots if r.programs == ("mozilla", "chrome")
                    and r.facts.subject == "CN=ISRG Root X1,O=Internet Security Research Group,C=US")
    root = x509.load_der_x509_certificate(root_der)
    ski = x509.SubjectKeyIdentifier.from_public_key(root.public_key()).digest
    # We hold no Mozilla root key: the leaf names the real root as issuer and its key id, signed by another key.
    leaf, leaf_key = issue_leaf(None, new_key(), "localhost", issuer_name=root.subject, aki=ski)
    with tls_server(pem_chain(leaf, root), _key_pem(leaf_key)) as port:
        code, verdict, _ = _check(f"https://localhost:{port}")
    assert code == 1
    assert (verdict["level"], verdict["reason"]) == ("interception", "imitated_issuer")
    assert verdict["chain"][1]["public_root"] is True and verdict["chain"][1]["on_path"] is False


def test_private_root_with_appended_isrg_root_is_interception_through_the_probe():
    isrg = x509.load_pem_x509_certificate(open(LE / "isrg-root-x1.pem", "rb").read())
    root, root_key = make_root("Appended Public Root Test CA")
    leaf, leaf_key = issue_leaf(root, root_key, "localhost", sans=["localhost"])
    with tls_server(pem_chain(leaf, root, isrg), _key_pem(leaf_key)) as port:
        code, verdict, _ = _check(f"https://localhost:{port}")
    assert code == 1
    assert (verdict["level"], verdict["reason"]) == ("interception", "non_public_anchor")
    assert verdict["path"]["indices"] == [0, 1] and verdict["path"]["name_matches"] is True


def test_probe_through_host_protocol(host):
    sf_cert, sf_key = load_leaked("superfish")
    leaf, leaf_key = issue_leaf(sf_cert, sf_key, "localhost")
    with tls_server(pem_chain(leaf), _key_pem(leaf_key)) as port:
        reply = host.request({"type": "probe", "id": "p1", "host": "localhost", "port": port,
                              "url": f"https://localhost:{port}/"})
    assert (reply["id"], reply["level"], reply["evidence"]) == ("p1", "banned", "probe")
    assert reply["probe"]["sni"] == "localhost"


def test_probe_refused_is_unknown_with_reason(host):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    reply = host.request({"type": "probe", "id": 2, "host": "127.0.0.1", "port": port})
    assert (reply["level"], reply["reason"]) == ("unknown", "probe_failed")
    assert "cannot connect" in reply["probe"]["error"]
    code, verdict, err = _check(f"127.0.0.1:{port}")
    assert code == 3 and "cannot connect" in err


def test_unreadable_inputs_one_line_and_exit_3(tmp_path):
    cases = {
        "empty.pem": b"",
        "garbage.der": b"\x01\x02\x03 hello",
        "notjson.json": b"{not json",
        "array.json": b"[1,2]",
        "nocert.pem": b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "badsecinfo.json": b'{"state": "secure", "certificates": [{"subject": "x"}]}',
    }
    for fname, data in cases.items():
        path = tmp_path / fname
        path.write_bytes(data)
        out = subprocess.run([sys.executable, "-m", "native_host", "check", str(path)], capture_output=True, text=True)
        assert out.returncode == 3, fname
        assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1, (fname, out.stderr)
        assert out.stderr.startswith("rootsentinel: "), fname
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(tmp_path / "missing.pem")],
                         capture_output=True, text=True)
    assert out.returncode == 3 and "no such file" in out.stderr


def test_text_output_escapes_terminal_control_sequences(tmp_path):
    root, key = make_root("Evil \x1b]0;pwned\x07 Root")
    path = tmp_path / "evil.pem"
    path.write_bytes(pem_chain(root))
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(path)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "\x1b" not in out.stdout and "\\x1b]0;pwned\\x07" in out.stdout
