"""Signed blocklist updates: only a newer list signed by the pinned key is installed, atomically; every
bad update is refused and the previous list keeps answering in the real host process."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certkit import b64, der, issue_leaf, load_leaked, make_root, sha256
from hostkit import HostProcess
from native_host.enterprise import blocklist_update as bu
from native_host.engine.blocklist import bundled, canonical_entries_sha256
from native_host.cli import main
from native_host.enterprise.config import load_system_config
from native_host.schemas import validate

BUNDLED = json.loads((Path(__file__).parent.parent / "native_host/engine/data/blocklist.json").read_text("utf-8"))


def _spki_sha256(cert) -> str:
    from cryptography.hazmat.primitives import serialization

    return sha256(cert.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo))


class Publisher:
    """A blocklist publisher: a signing key and a folder of updates, each adding one banned private root."""

    def __init__(self, folder: Path, key: Ed25519PrivateKey | None = None):
        self.folder = folder
        self.key = key or Ed25519PrivateKey.generate()
        self.public_b64 = bu.public_key_b64(self.key)

    def document(self, version: str, extra_roots=()) -> dict:
        doc = json.loads(json.dumps(BUNDLED))
        doc["version"] = version
        for cert in extra_roots:
            doc["entries"].append({
                "name": f"Test banned root {version}", "category": "malware-mitm", "country": None,
                "subject": None, "subject_key": None, "cert_sha256": sha256(der(cert)),
                "spki_sha256": _spki_sha256(cert), "ski": None, "chromium_list": None,
                "source": "test publisher", "verified_from_pem": True, "evidence_file": None, "notes": None})
        doc["size"] = len(doc["entries"])
        doc["sha256"] = canonical_entries_sha256(doc["entries"])
        return doc

    def write(self, version: str, extra_roots=(), *, doc: dict | None = None, data: bytes | None = None,
              sign: bool = True) -> Path:
        """Write ``update-<version>.json`` (and its ``.sig`` unless ``sign`` is False)."""
        path = self.folder / f"update-{version}.json"
        if data is None:
            data = json.dumps(doc or self.document(version, extra_roots), indent=1).encode("utf-8")
        path.write_bytes(data)
        if sign:
            bu.signature_path(path).write_bytes(bu.sign_bytes(data, self.key))
        return path


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A machine: a system config pinning the publisher's key (ROOTSENTINEL_CONFIG), a blocklist dir."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "updates").mkdir()
    pub = Publisher(tmp_path / "updates")
    config = tmp_path / "etc" / "config.json"
    config.write_text(json.dumps({"blocklist_public_key": pub.public_b64}))
    monkeypatch.setenv("ROOTSENTINEL_CONFIG", str(config))
    return pub, config, tmp_path / "etc" / "blocklist"


def _install(path: Path, *extra: str) -> int:
    return main(["blocklist", "install", str(path), *extra])


def _chain_b64(root_cert, root_key, host: str = "bank.example") -> list[str]:
    leaf, _ = issue_leaf(root_cert, root_key, host)
    return [b64(der(leaf)), b64(der(root_cert))]


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}


def _host_answers(config: Path, version: str, banned_roots=(), not_banned_roots=()) -> dict:
    """Start the real host under ``config``; it reports ``version`` and bans Superfish and ``banned_roots``."""
    h = HostProcess(env={"ROOTSENTINEL_CONFIG": str(config)})
    try:
        hello = h.request({"type": "hello", "id": 1})
        validate("hello.reply", hello)
        assert hello["blocklist"]["version"] == version, hello
        sf_cert, sf_key = load_leaked("superfish")
        reply = h.request({"type": "check", "id": 2, "chain": _chain_b64(sf_cert, sf_key)})
        assert (reply["level"], reply["category"]) == ("banned", "malware-mitm"), reply
        for i, (cert, key) in enumerate(banned_roots):
            reply = h.request({"type": "check", "id": f"b{i}", "chain": _chain_b64(cert, key)})
            assert (reply["level"], reply["reason"]) == ("banned", "blocklist_spki"), reply
            assert reply["matched"]["entry"]["name"].startswith("Test banned root")
        for i, (cert, key) in enumerate(not_banned_roots):
            reply = h.request({"type": "check", "id": f"n{i}", "chain": _chain_b64(cert, key)})
            assert reply["level"] == "interception", reply
        return hello
    finally:
        code, _, _ = h.close()
        assert code == 0


# --- units ---------------------------------------------------------------------------------------


def test_version_tuples_compare_as_integers():
    vt = bu.version_tuple
    assert vt("2026.11.29") == (2026, 11, 29)
    assert vt("2026.11.29.1") > vt("2026.11.29") > vt("2026.11.9") > vt("2026.2.30")
    assert vt("2026.11.29.10") > vt("2026.11.29.9")
    with pytest.raises(bu.CorruptUpdate):
        vt("2026.11.x")


def test_signature_is_over_the_exact_bytes(tmp_path):
    pub = Publisher(tmp_path)
    path = pub.write("2026.12.01")
    public = bu.parse_public_key(pub.public_b64)
    assert bu.verify_update(path, public).version == "2026.12.01"
    # the same JSON re-serialised is different bytes: the signature no longer holds
    path.write_bytes(json.dumps(json.loads(path.read_bytes())).encode())
    with pytest.raises(bu.BadSignature):
        bu.verify_update(path, public)


@pytest.mark.parametrize("text", ["", "not base64!", base64.b64encode(b"x" * 31).decode()])
def test_bad_pinned_key(text):
    with pytest.raises(bu.NoPinnedKey):
        bu.parse_public_key(text)


def test_keygen_sign_verify_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROOTSENTINEL_CONFIG", str(tmp_path / "absent.json"))
    key = tmp_path / "publisher.key"
    assert main(["blocklist", "keygen", "--out", str(key)]) == 0
    public = capsys.readouterr().out.strip()
    assert len(base64.b64decode(public)) == 32
    if os.name != "nt":
        assert key.stat().st_mode & 0o777 == 0o600
    assert main(["blocklist", "keygen", "--out", str(key)]) == 3  # never overwrites a signing key
    update = tmp_path / "u.json"
    update.write_text(json.dumps(Publisher(tmp_path).document("2026.12.01")))
    assert main(["blocklist", "sign", str(update), "--key", str(key)]) == 0
    assert bu.signature_path(update).exists()
    assert main(["blocklist", "verify", str(update), "--public-key", public]) == 0
    assert "OK" in capsys.readouterr().out
    # no key pinned (no config) and none given: refuse
    assert main(["blocklist", "verify", str(update)]) == 3
    other = bu.public_key_b64(Ed25519PrivateKey.generate())
    assert main(["blocklist", "verify", str(update), "--public-key", other]) == 3
    assert "does not verify" in capsys.readouterr().err


def test_sign_refuses_a_broken_list(tmp_path, capsys):
    key = tmp_path / "k.pem"
    key.write_bytes(bu.private_key_pem(Ed25519PrivateKey.generate()))
    doc = Publisher(tmp_path).document("2026.12.01")
    doc["sha256"] = "0" * 64
    update = tmp_path / "u.json"
    update.write_text(json.dumps(doc))
    assert main(["blocklist", "sign", str(update), "--key", str(key)]) == 3
    assert not bu.signature_path(update).exists()
    assert "content hash" in capsys.readouterr().err


# --- install, and the real host ------------------------------------------------------------------


def test_good_update_is_installed_and_the_host_uses_it(site, capsys):
    pub, config, bl_dir = site
    root = make_root("Publisher Test Banned Root")
    assert _install(pub.write("2026.12.01", [root[0]])) == 0
    assert "installed blocklist 2026.12.01" in capsys.readouterr().out
    assert (bl_dir / "current").read_text().strip() == "blocklist-2026.12.01.json"
    loaded = load_system_config()
    assert loaded.error is None and loaded.blocklist.version == "2026.12.01"
    assert len(loaded.blocklist) == len(bundled()) + 1
    hello = _host_answers(config, "2026.12.01", banned_roots=[root])
    assert hello["blocklist"]["size"] == len(bundled()) + 1 and hello["config_error"] is None
    assert main(["blocklist", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["source"], shown["version"], shown["error"]) == ("installed", "2026.12.01", None)


def test_a_newer_update_replaces_the_installed_one_and_old_pairs_are_pruned(site):
    pub, config, bl_dir = site
    roots = [make_root(f"Publisher Root {i}") for i in range(3)]
    for i, version in enumerate(["2026.12.01", "2026.12.01.1", "2026.12.02"]):
        assert _install(pub.write(version, [roots[i][0]])) == 0
    names = sorted(p.name for p in bl_dir.iterdir() if not p.name.startswith("."))
    assert names == ["blocklist-2026.12.01.1.json", "blocklist-2026.12.01.1.json.sig",
                     "blocklist-2026.12.01.1.json.verified",
                     "blocklist-2026.12.02.json", "blocklist-2026.12.02.json.sig",
                     "blocklist-2026.12.02.json.verified", "current"]
    _host_answers(config, "2026.12.02", banned_roots=[roots[2]], not_banned_roots=[roots[0]])


def _tampered(pub, root, newer_root):
    path = pub.write("2026.12.05", [newer_root[0]])
    data = path.read_bytes().replace(b"Test banned root", b"Test banned ro0t", 1)
    path.write_bytes(data)  # the signature was over the bytes before
    return path


def _unsigned(pub, root, newer_root):
    return pub.write("2026.12.05", [newer_root[0]], sign=False)


def _wrong_key(pub, root, newer_root):
    other = Publisher(pub.folder)
    return other.write("2026.12.05", [newer_root[0]])


def _downgrade_below_installed(pub, root, newer_root):
    return pub.write("2026.12.01.1", [newer_root[0]])  # newer than bundled, older than installed 2026.12.02


def _downgrade_below_bundled(pub, root, newer_root):
    return pub.write("2025.01.01", [newer_root[0]])


def _replay_same_version(pub, root, newer_root):
    return pub.write("2026.12.02", [newer_root[0]])


def _corrupt_but_signed(pub, root, newer_root):
    return pub.write("2026.12.05", data=b'{"format": 1, "version": "2026.12.05", "entries": [')


def _wrong_content_hash_but_signed(pub, root, newer_root):
    doc = pub.document("2026.12.05", [newer_root[0]])
    doc["sha256"] = canonical_entries_sha256(BUNDLED["entries"])
    return pub.write("2026.12.05", doc=doc)


def _schema_violation_but_signed(pub, root, newer_root):
    doc = pub.document("2026.12.05", [newer_root[0]])
    doc["entries"][-1]["category"] = "friendly"
    doc["sha256"] = canonical_entries_sha256(doc["entries"])
    return pub.write("2026.12.05", doc=doc)


def _garbage_signature(pub, root, newer_root):
    path = pub.write("2026.12.05", [newer_root[0]])
    bu.signature_path(path).write_text("this is not a signature\n")
    return path


def _truncated_signature(pub, root, newer_root):
    path = pub.write("2026.12.05", [newer_root[0]])
    sig = base64.b64decode(bu.signature_path(path).read_bytes())
    bu.signature_path(path).write_bytes(base64.b64encode(sig[:63]))
    return path


BAD_UPDATES = {
    "tampered": (_tampered, "does not verify"),
    "unsigned": (_unsigned, "unsigned"),
    "wrong_key": (_wrong_key, "does not verify"),
    "downgrade_below_installed": (_downgrade_below_installed, "not newer than the installed"),
    "downgrade_below_bundled": (_downgrade_below_bundled, "not newer than the installed"),
    "replay_same_version": (_replay_same_version, "not newer"),
    "corrupt_but_signed": (_corrupt_but_signed, "not UTF-8 JSON"),
    "wrong_content_hash_but_signed": (_wrong_content_hash_but_signed, "content hash"),
    "schema_violation_but_signed": (_schema_violation_but_signed, "not a valid blocklist"),
    "garbage_signature": (_garbage_signature, "not base64"),
    "truncated_signature": (_truncated_signature, "63 bytes"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPDATES))
def test_bad_update_is_refused_and_the_previous_list_still_answers(site, capsys, case):
    pub, config, bl_dir = site
    root, newer_root = make_root("Installed Banned Root"), make_root("Would-be Banned Root")
    assert _install(pub.write("2026.12.02", [root[0]])) == 0
    before = _snapshot(bl_dir)
    capsys.readouterr()
    make, message = BAD_UPDATES[case]
    assert _install(make(pub, root, newer_root)) == 3
    err = capsys.readouterr().err
    assert err.startswith("rootsentinel: ") and message in err and err.count("\n") == 1, err
    assert _snapshot(bl_dir) == before  # nothing written, nothing removed
    _host_answers(config, "2026.12.02", banned_roots=[root], not_banned_roots=[newer_root])


@pytest.mark.parametrize("case", ["tampered", "unsigned", "wrong_key", "downgrade_below_bundled"])
def test_bad_update_over_the_bundled_list(site, capsys, case):
    """Nothing installed yet: a refused update leaves the bundled list answering."""
    pub, config, bl_dir = site
    make, _ = BAD_UPDATES[case]
    newer_root = make_root("Would-be Banned Root")
    assert _install(make(pub, None, newer_root)) == 3
    assert not (bl_dir / "current").exists()
    _host_answers(config, bundled().version, not_banned_roots=[newer_root])


# --- the host re-verifies at start ---------------------------------------------------------------


def _installed_list(bl_dir: Path) -> Path:
    return bl_dir / (bl_dir / "current").read_text().strip()


def _tamper_in_place(bl_dir, pub, config):
    path = _installed_list(bl_dir)
    path.write_bytes(path.read_bytes().replace(b"Test banned root", b"Test banned ro0t", 1))


def _delete_signature(bl_dir, pub, config):
    bu.signature_path(_installed_list(bl_dir)).unlink()


def _repin_another_key(bl_dir, pub, config):
    config.write_text(json.dumps({"blocklist_public_key": bu.public_key_b64(Ed25519PrivateKey.generate())}))


def _unpin(bl_dir, pub, config):
    config.write_text(json.dumps({"audit": False}))


def _pointer_escapes(bl_dir, pub, config):
    (bl_dir / "current").write_text("../config.json\n")


@pytest.mark.parametrize("fault", [_tamper_in_place, _delete_signature, _repin_another_key, _unpin, _pointer_escapes])
def test_installed_list_broken_after_install_falls_back_to_bundled_with_an_error(site, fault):
    pub, config, bl_dir = site
    root = make_root("Installed Banned Root")
    assert _install(pub.write("2026.12.02", [root[0]])) == 0
    fault(bl_dir, pub, config)
    loaded = load_system_config()
    assert loaded.blocklist is None and "bundled list in force" in loaded.error
    assert main(["blocklist", "show"]) == 3  # a fleet health check sees it
    hello = _host_answers(config, bundled().version, not_banned_roots=[root])
    assert "bundled list in force" in hello["config_error"]


def test_an_installed_list_older_than_the_bundled_one_is_silently_superseded(site, monkeypatch):
    """After a package upgrade ships a newer bundled list, the older installed update is not used (no error)."""
    pub, config, bl_dir = site
    assert _install(pub.write("2026.12.02")) == 0
    newer = bu.bundled()
    monkeypatch.setattr(newer, "version", "2027.01.01")
    loaded = load_system_config()
    assert loaded.blocklist is None and loaded.error is None


def test_a_crash_before_the_commit_leaves_the_old_list_in_use(site, monkeypatch):
    """The pointer replacement is the commit: if it fails, the old pair is still named and verifies."""
    pub, config, bl_dir = site
    root = make_root("Installed Banned Root")
    assert _install(pub.write("2026.12.02", [root[0]])) == 0
    real_write = bu.atomic_write

    def failing(path, data):
        if path.name == "current":
            raise OSError(28, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(bu, "atomic_write", failing)
    assert _install(pub.write("2026.12.03")) == 3
    monkeypatch.setattr(bu, "atomic_write", real_write)
    assert (bl_dir / "current").read_text().strip() == "blocklist-2026.12.02.json"
    loaded = load_system_config()
    assert loaded.error is None and loaded.blocklist.version == "2026.12.02"
    # the next good install cleans up the stray pair
    assert _install(pub.write("2026.12.04")) == 0
    assert not (bl_dir / "blocklist-2026.12.03.json").exists()


def test_a_bad_pinned_key_is_reported_even_with_nothing_installed(site):
    pub, config, bl_dir = site
    config.write_text(json.dumps({"blocklist_public_key": "AAAA"}))
    loaded = load_system_config()
    assert loaded.blocklist is None and "32-byte" in loaded.error
    assert loaded.settings == {"blocklist_public_key": "AAAA"}  # the rest of the config stays in force


def test_install_without_a_pinned_key_is_refused(tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.json"
    config.write_text("{}")
    monkeypatch.setenv("ROOTSENTINEL_CONFIG", str(config))
    pub = Publisher(tmp_path)
    assert _install(pub.write("2026.12.02")) == 3
    assert "no blocklist_public_key" in capsys.readouterr().err
    assert not (tmp_path / "blocklist").exists()


def test_blocklist_dir_from_config(tmp_path, monkeypatch):
    pub = Publisher(tmp_path)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"blocklist_public_key": pub.public_b64,
                                  "blocklist_dir": str(tmp_path / "elsewhere")}))
    monkeypatch.setenv("ROOTSENTINEL_CONFIG", str(config))
    assert _install(pub.write("2026.12.02")) == 0
    assert (tmp_path / "elsewhere" / "current").exists() and not (tmp_path / "blocklist").exists()
    assert load_system_config().blocklist.version == "2026.12.02"


# --- every signed document the schema refuses is refused, whatever its signature ------------------


def _mutations():
    e = 0  # mutate the first entry
    yield "as is", lambda d: None
    yield "no format", lambda d: d.pop("format")
    yield "format 2", lambda d: d.update(format=2)
    yield "format true", lambda d: d.update(format=True)
    yield "format 1.0", lambda d: d.update(format=1.0)
    yield "version pattern", lambda d: d.update(version="2026.1.1")
    yield "version newline", lambda d: d.update(version="2026.11.29\n")
    yield "version number", lambda d: d.update(version=2026)
    yield "size negative", lambda d: d.update(size=-1)
    yield "size bool", lambda d: d.update(size=True)
    yield "size float", lambda d: d.update(size=3.5)
    yield "sha256 upper", lambda d: d.update(sha256=d["sha256"].upper())
    yield "generated_from int", lambda d: d.update(generated_from=1)
    yield "entries object", lambda d: d.update(entries={})
    yield "entry list", lambda d: d["entries"].__setitem__(e, [])
    for key in ("name", "category", "cert_sha256", "spki_sha256", "source", "verified_from_pem"):
        yield f"no {key}", lambda d, key=key: d["entries"][e].pop(key)
    yield "empty name", lambda d: d["entries"][e].update(name="")
    yield "bad category", lambda d: d["entries"][e].update(category="friendly")
    yield "category null", lambda d: d["entries"][e].update(category=None)
    yield "spki short", lambda d: d["entries"][e].update(spki_sha256="ab")
    yield "spki null", lambda d: d["entries"][e].update(spki_sha256=None)
    yield "both null, no subject_key", lambda d: d["entries"][e].update(spki_sha256=None, cert_sha256=None,
                                                                        subject_key=None)
    yield "both null, subject_key", lambda d: d["entries"][e].update(spki_sha256=None, cert_sha256=None,
                                                                     subject_key="cn=x")
    yield "both null, empty subject_key", lambda d: d["entries"][e].update(spki_sha256=None, cert_sha256=None,
                                                                           subject_key="")
    yield "source null", lambda d: d["entries"][e].update(source=None)
    yield "verified 1", lambda d: d["entries"][e].update(verified_from_pem=1)
    yield "country int", lambda d: d["entries"][e].update(country=7)
    yield "notes list", lambda d: d["entries"][e].update(notes=[])
    yield "ski upper", lambda d: d["entries"][e].update(ski="ABCD")
    yield "ski empty", lambda d: d["entries"][e].update(ski="")
    yield "ski int", lambda d: d["entries"][e].update(ski=5)
    yield "chromium_list other", lambda d: d["entries"][e].update(chromium_list="allow")
    yield "chromium_list null", lambda d: d["entries"][e].update(chromium_list=None)
    yield "chromium_list list", lambda d: d["entries"][e].update(chromium_list=["block"])
    yield "extra key", lambda d: d["entries"][e].update(extra=1)


@pytest.mark.parametrize("label,mutate", list(_mutations()), ids=[m[0] for m in _mutations()])
def test_signed_documents_are_accepted_exactly_when_the_schema_accepts(label, mutate):
    from native_host.errors import SchemaError

    doc = json.loads(json.dumps(BUNDLED))
    mutate(doc)
    doc["sha256"] = canonical_entries_sha256(doc["entries"]) if isinstance(doc.get("entries"), list) else doc.get("sha256")
    try:
        validate("blocklist", doc)
        schema_ok = True
    except SchemaError:
        schema_ok = False
    key = bu.generate_private_key()
    data = json.dumps(doc).encode("utf-8")
    sig = bu.sign_bytes(data, key)
    try:
        bu.verify_update_bytes(data, sig, key.public_key())
        accepted = True
    except bu.CorruptUpdate:
        accepted = False
    assert accepted == schema_ok, label


def test_a_signed_schema_violation_planted_in_the_dir_is_refused_at_start(site):
    """Bypassing the installer: the start-up shape check still refuses what the schema would."""
    pub, config, bl_dir = site
    assert _install(pub.write("2026.12.02")) == 0
    doc = pub.document("2026.12.03", [make_root("X")[0]])
    doc["entries"][-1]["category"] = "friendly"
    doc["sha256"] = canonical_entries_sha256(doc["entries"])
    data = json.dumps(doc).encode()
    (bl_dir / "blocklist-2026.12.03.json").write_bytes(data)
    (bl_dir / "blocklist-2026.12.03.json.sig").write_bytes(bu.sign_bytes(data, pub.key))
    (bl_dir / "current").write_text("blocklist-2026.12.03.json\n")
    loaded = load_system_config()
    assert loaded.blocklist is None and "category" in loaded.error


def test_hosts_starting_during_installs_always_see_a_whole_verified_list(site, tmp_path):
    """A reader process re-verifies in a loop while 15 updates are installed: every read is one of the
    installed versions (old or new), never a torn list/signature pair."""
    import subprocess
    import sys

    pub, config, bl_dir = site
    assert _install(pub.write("2026.12.01")) == 0
    updates = [pub.write(f"2026.12.01.{i}") for i in range(1, 16)]
    reader = tmp_path / "reader.py"
    reader.write_text(
        "import json, os, sys, time\n"
        "from native_host.enterprise.config import load_system_config\n"
        "stop, out = sys.argv[1], sys.argv[2]\n"
        "seen = []\n"
        "while not os.path.exists(stop):\n"
        "    c = load_system_config()\n"
        "    seen.append([c.blocklist.version if c.blocklist else None, c.error])\n"
        "open(out, 'w').write(json.dumps(seen))\n")
    stop, out = tmp_path / "stop", tmp_path / "seen.json"
    proc = subprocess.Popen([sys.executable, str(reader), str(stop), str(out)],
                            env={**os.environ, "ROOTSENTINEL_CONFIG": str(config)})
    try:
        time.sleep(0.5)
        for path in updates:
            assert _install(path) == 0
            time.sleep(0.02)
        time.sleep(0.2)
    finally:
        stop.touch()
        assert proc.wait(60) == 0
    seen = json.loads(out.read_text())
    versions = {"2026.12.01"} | {f"2026.12.01.{i}" for i in range(1, 16)}
    assert len(seen) > 20, len(seen)
    print(f"{len(seen)} start-up verifications during 15 installs")
    assert all(err is None and version in versions for version, err in seen), [s for s in seen if s[1]][:3]
    assert seen[-1][0] == "2026.12.01.15"
