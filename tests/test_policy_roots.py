"""Root certificates an administrator gives in the settings: ``allow_roots_pem`` and ``banned[].pem``
(issue 23 item 3). The settings are accepted by every schema that carries settings, and each PEM must be
one readable certificate, else a clear error and the safe defaults."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from certkit import make_root
from native_host.engine.verdict import Policy
from native_host.enterprise.config import load_system_config
from native_host.errors import SchemaError
from native_host.install.policy import MANAGED_SCHEMA
from native_host.schemas import validate

from cryptography.hazmat.primitives import serialization


def _pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _spki(cert) -> str:
    import hashlib

    return hashlib.sha256(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def test_pem_settings_in_every_schema():
    allowed, _ = make_root("Corp Inspection Root")
    bad_root, _ = make_root("Bad Root")
    settings = {"allow_roots_pem": [_pem(allowed)], "banned": [{"pem": _pem(bad_root), "reason": "ours"}]}
    jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(settings)
    validate("config", settings)
    validate("hello.request", {"type": "hello", "id": 1, "policy": settings})
    for bad in ({"allow_roots_pem": "not a list"}, {"allow_roots_pem": ["no armour here"]},
                {"banned": [{"pem": "plain text", "reason": "x"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(settings | bad)
        with pytest.raises(SchemaError):
            validate("config", settings | bad)


def test_policy_reads_the_roots_keys():
    allowed, _ = make_root("Corp Inspection Root")
    bad_root, _ = make_root("Bad Root")
    policy = Policy.from_json({"allow_roots_pem": [_pem(allowed)], "banned": [{"pem": _pem(bad_root), "reason": "ours"}]})
    assert _spki(allowed) in policy.allow_spki_sha256
    assert policy.banned[_spki(bad_root)] == "ours"
    assert {r.spki_sha256 for r in policy.roots} == {_spki(allowed), _spki(bad_root)}
    merged = Policy().merged(policy).merged(policy)
    assert len(merged.roots) == 2 and merged == policy


@pytest.mark.parametrize("text,message", [
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not an X.509 certificate"),
    ("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n", "not valid base64"),
    ("-----BEGIN CERTIFICATE----- nothing ends", "exactly one"),
])
def test_bad_pem_is_refused_by_the_config_loader(tmp_path, text, message):
    root, _ = make_root()
    for settings, where, expected in (({"allow_roots_pem": [_pem(root), text]}, "allow_roots_pem[1]", message),
                                      ({"banned": [{"pem": text}]}, "banned[0].pem", message),
                                      ({"allow_roots_pem": [_pem(root) + _pem(root)]}, "allow_roots_pem[0]", "exactly one")):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(settings))
        config = load_system_config(path)
        assert config.policy == Policy()
        assert where in config.error and expected in config.error, config.error


def test_too_many_pem_roots_are_refused_before_any_is_parsed():
    root, _ = make_root()
    with pytest.raises(SchemaError, match="over the 1024"):
        Policy.from_json({"allow_roots_pem": [_pem(root)] * 1000, "banned": [{"pem": "x"}] * 25})


def test_good_pem_config_loads(tmp_path):
    root, _ = make_root("Corp Inspection Root")
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"allow_roots_pem": [_pem(root)]}))
    config = load_system_config(path)
    assert config.error is None
    assert config.policy.allow_spki_sha256 == {_spki(root)}


# --- the roots on the path (issue 23 item 3): an inspection proxy does not send its root -------------------

def _proxy():
    """An inspection proxy's root and the leaf it mints for a site (the root is never sent)."""
    from certkit import issue_leaf

    root, key = make_root("Example Corp TLS Inspection Root")
    leaf, leaf_key = issue_leaf(root, key, "localhost", sans=["localhost", "127.0.0.1"])
    return root, leaf, leaf_key


def _judge_leaf(leaf, policy: Policy) -> dict:
    from certkit import b64, der
    from native_host.engine.blocklist import bundled
    from native_host.engine.chains import chain_from_base64
    from native_host.engine.publicroots import store
    from native_host.engine.verdict import judge

    return judge(chain_from_base64([b64(der(leaf))], evidence="probe"), bundled(), store(), policy)


def test_allowed_root_given_as_pem_is_notice_although_not_sent():
    root, leaf, _ = _proxy()
    assert _judge_leaf(leaf, Policy.from_json({"allow_spki_sha256": [_spki(root)]}))["level"] == "interception"
    v = _judge_leaf(leaf, Policy.from_json({"allow_roots_pem": [_pem(root)]}))
    assert (v["level"], v["category"], v["reason"]) == ("notice", "allowlisted", "allowlisted_root")
    assert v["names"]["root"] == "Example Corp TLS Inspection Root"
    assert v["anchor"]["sent"] is False and v["path"]["indices"] == [0, None]
    other, _ = make_root("Example Corp TLS Inspection Root")  # same name, another key: not the allowed root
    assert _judge_leaf(leaf, Policy.from_json({"allow_roots_pem": [_pem(other)]}))["level"] == "interception"


def test_banned_root_given_as_pem_is_banned_although_not_sent():
    root, leaf, _ = _proxy()
    assert _judge_leaf(leaf, Policy.from_json({"banned": [{"spki_sha256": _spki(root)}]}))["level"] == "interception"
    v = _judge_leaf(leaf, Policy.from_json({"banned": [{"pem": _pem(root), "reason": "retired proxy"}]}))
    assert (v["level"], v["category"], v["reason"]) == ("banned", "policy", "policy_banned")
    assert v["matched"]["entry"]["name"] == "retired proxy" and v["anchor"]["sent"] is False
    assert v["names"]["root"] == "Example Corp TLS Inspection Root"


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_through_the_host_hello_and_a_real_probe():
    from certkit import pem_chain
    from hostkit import HostProcess, tls_server

    root, leaf, leaf_key = _proxy()
    h = HostProcess()
    try:
        with tls_server(pem_chain(leaf), _key_pem(leaf_key)) as port:
            before = h.request({"type": "probe", "id": 1, "host": "127.0.0.1", "port": port})
            hello = h.request({"type": "hello", "id": 2, "policy": {"allow_roots_pem": [_pem(root)]}})
            after = h.request({"type": "probe", "id": 3, "host": "127.0.0.1", "port": port})
            bad = h.request({"type": "hello", "id": 4, "policy": {"allow_roots_pem": ["-----BEGIN CERTIFICATE-----x"]}})
            still = h.request({"type": "probe", "id": 5, "host": "localhost", "port": port})
    finally:
        h.close()
    assert before["level"] == "interception"
    assert hello["type"] == "hello"
    assert (after["level"], after["reason"], after["names"]["root"]) == ("notice", "allowlisted_root",
                                                                        "Example Corp TLS Inspection Root")
    assert (bad["type"], bad["code"]) == ("error", "schema") and "allow_roots_pem[0]" in bad["message"]
    assert still["level"] == "notice"  # the bad hello changed nothing


def test_rootsentinel_check_reads_the_pem_roots_from_the_system_config(tmp_path):
    import os
    import subprocess
    import sys

    from certkit import pem_chain
    from hostkit import tls_server

    root, leaf, leaf_key = _proxy()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"banned": [{"pem": _pem(root), "reason": "retired proxy"}]}))
    chain = tmp_path / "leaf.pem"
    chain.write_bytes(pem_chain(leaf))
    env = {**os.environ, "ROOTSENTINEL_CONFIG": str(config)}
    with tls_server(pem_chain(leaf), _key_pem(leaf_key)) as port:
        for target in (str(chain), f"https://127.0.0.1:{port}"):
            out = subprocess.run([sys.executable, "-m", "native_host", "check", target, "--json"],
                                 capture_output=True, text=True, timeout=60, env=env)
            v = json.loads(out.stdout)
            assert (out.returncode, v["level"], v["reason"]) == (2, "banned", "policy_banned"), target


def test_policy_command_takes_roots_as_pem_files(tmp_path, capsys):
    """`rootsentinel policy --allow-root-pem FILE --ban-root-pem FILE=REASON`: the managed settings carry the
    certificates, and the verdicts they give on a probe whose root was never sent are notice and banned."""
    import argparse

    from certkit import issue_leaf
    from native_host.install import cli as install_cli

    allowed, allowed_key = make_root("Example Corp TLS Inspection Root")
    retired, retired_key = make_root("Retired Proxy Root")
    other, _ = make_root("Another Retired Root")
    (tmp_path / "corp.pem").write_text("corporate root, exported from the proxy\n" + _pem(allowed))
    (tmp_path / "retired.pem").write_text(_pem(retired) + _pem(other))  # a bundle: both are banned
    (tmp_path / "empty.pem").write_text("nothing here\n")

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        install_cli.add_parsers(parser.add_subparsers(dest="cmd"))
        args = parser.parse_args(["policy", "--browser", "chromium", "--extension-id", "a" * 32, *argv])
        return args.func(args)

    assert run("--allow-root-pem", str(tmp_path / "corp.pem"), "--ban-root-pem", f"{tmp_path / 'retired.pem'}=retired proxy") == 0
    settings = json.loads(capsys.readouterr().out)["3rdparty"]["extensions"]["a" * 32]
    jsonschema.Draft7Validator(MANAGED_SCHEMA).validate(settings)
    policy = Policy.from_json(settings)
    assert [r["reason"] for r in settings["banned"]] == ["retired proxy", "retired proxy"]
    assert {r.spki_sha256 for r in policy.roots} == {_spki(allowed), _spki(retired), _spki(other)}
    corp_leaf, _ = issue_leaf(allowed, allowed_key, "localhost")
    retired_leaf, _ = issue_leaf(retired, retired_key, "localhost")
    assert _judge_leaf(corp_leaf, policy)["level"] == "notice"
    assert (_judge_leaf(retired_leaf, policy)["level"], _judge_leaf(retired_leaf, policy)["reason"]) == ("banned", "policy_banned")

    for argv, message in ((["--allow-root-pem", str(tmp_path / "empty.pem")], "no '-----BEGIN CERTIFICATE-----' block"),
                          (["--ban-root-pem", str(tmp_path / "missing.pem")], "cannot read")):
        assert run(*argv) == 3
        err = capsys.readouterr().err
        assert err.startswith("rootsentinel: error: ") and message in err and err.count("\n") == 1


def test_policy_command_refuses_odd_pem_files_in_one_line(tmp_path, capsys):
    """Special files, oversize files, too many roots: one error line and exit 3, nothing read past the cap.
    A non-CA certificate and public roots in a ban are warned about; a file name may hold '='."""
    import argparse
    import os

    from native_host.install import cli as install_cli

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        install_cli.add_parsers(parser.add_subparsers(dest="cmd"))
        args = parser.parse_args(["policy", "--browser", "chrome", "--extension-id", "a" * 32, *argv])
        return args.func(args)

    root, key = make_root("Retired Proxy Root")
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo)
    big = tmp_path / "big.pem"
    big.write_text("x" * (1 << 20) + _pem(root))
    many = tmp_path / "many.pem"
    many.write_text("".join(_pem(make_root(f"Root {i}")[0]) for i in range(257)))
    for argv, message in ((["--allow-root-pem", "/dev/zero"], "not a regular file"),
                          (["--allow-root-pem", str(fifo)], "not a regular file"),
                          (["--allow-root-pem", str(big)], "over 1024 KiB"),
                          (["--allow-root-pem", str(many)], "257 inspection roots given as PEM"),
                          (["--ban-root-pem", "=reason"], "no file given"),
                          (["--allow-root-pem", str(tmp_path / "a\nb.pem")], "a\\x0ab.pem: cannot read")):
        assert run(*argv) == 3, argv
        err = capsys.readouterr().err
        assert err.startswith("rootsentinel: error: ") and message in err and err.count("\n") == 1, (argv, err)

    from certkit import issue_leaf

    leaf, _ = issue_leaf(root, key, "localhost")
    odd = tmp_path / "we=ird.pem"
    odd.write_text(_pem(leaf) + _pem(root) + _pem(root))  # a leaf, and the root twice
    assert run("--ban-root-pem", f"{odd}=retired=proxy") == 0
    out = capsys.readouterr()
    bans = json.loads(out.out)["3rdparty"]["extensions"]["a" * 32]["banned"]
    assert len(bans) == 2 and {b["reason"] for b in bans} == {"retired=proxy"}
    assert "certificate 1: not a CA" in out.err and "public roots" not in out.err
    # a real public root (ISRG Root X1, tests/fixtures/letsencrypt) in a ban: allowed, but said
    isrg = Path(__file__).parent / "fixtures" / "letsencrypt" / "isrg-root-x1.pem"
    assert run("--ban-root-pem", f"{isrg}=distrusted here") == 0
    out = capsys.readouterr()
    assert "1 of the banned certificates are public roots" in out.err and "ISRG Root X1" in out.err
