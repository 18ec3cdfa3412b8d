"""``scan --fix`` and ``scan --undo`` (issue 14, item 5): real Qaznet and Superfish roots removed from a real
NSS database (certutil) and from a Debian anchors folder and ``ca-certificates.conf`` of a ``--root`` tree
(the real ``update-ca-certificates`` rebuilds inside the tree), then restored from the backup; Windows and
macOS through the one command runner answering from recorded output (tests/fixtures/scan/fix)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from certkit import der, load_leaked, make_root, pem_chain, sha256
from cryptography import x509
from test_scan import KZ_2019, SCAN, SUPERFISH_PEM, certifi_blocks, fake_runner, finding, needs_certutil, nss_db, put

from native_host.scan import _macos, _windows, scan_with
from native_host.scan.fix import Result, apply, parse_certutil_delstore, parse_security, remaining, targets
from native_host.scan.undo import undo
from native_host.scan.model import ScanContext
from native_host.schemas import schema

KZ_PEM = KZ_2019.read_bytes()
SUPERFISH_SHA = sha256(der(load_leaked("superfish")[0]))
KZ_SHA = sha256(der(x509.load_pem_x509_certificate(KZ_PEM)))
FIX = SCAN / "fix"
needs_update_ca = pytest.mark.skipif(shutil.which("update-ca-certificates") is None,
                                     reason="Debian's update-ca-certificates missing (apt-get install ca-certificates)")


def run(*args: str, home: Path, config: Path | None = None, stdin=subprocess.DEVNULL):
    """``python -m native_host scan ARGS`` with a throw-away HOME (the default backup goes under it)."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_STATE_HOME"}
    env.update(HOME=str(home), ROOTSENTINEL_CONFIG=str(config or home / "no-config.json"))
    return subprocess.run([sys.executable, "-m", "native_host", "scan", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=stdin)


def listed(db: Path) -> dict[str, str]:
    """``certutil -L``: nickname -> SHA-256 of its certificate."""
    out = subprocess.run(["certutil", "-L", "-d", f"sql:{db}"], capture_output=True, text=True, check=True).stdout
    nicks = [line[:61].strip() for line in out.splitlines()[3:] if line.strip()]
    result = {}
    for nick in nicks:
        pem = subprocess.run(["certutil", "-L", "-d", f"sql:{db}", "-n", nick, "-a"], capture_output=True,
                             check=True).stdout
        result[nick] = sha256(der(x509.load_pem_x509_certificate(pem)))
    return result


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def one_line_error(proc) -> str:
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


# --- NSS ----------------------------------------------------------------------------------------------

@needs_certutil
def test_nss_fix_removes_both_and_undo_restores_them(tmp_path):
    home = tmp_path / "home"
    db = nss_db(home / ".pki/nssdb", ("Superfish", "C,,", SUPERFISH_PEM), ("Qaznet", "C,,", KZ_PEM))
    before = listed(db)
    assert before == {"Superfish": SUPERFISH_SHA, "Qaznet": KZ_SHA}
    audit_log = tmp_path / "audit.jsonl"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit": True, "audit_log": str(audit_log)}))

    proc = run("--nss-db", str(db), "--json", home=home)
    assert proc.returncode == 2
    report = json.loads(proc.stdout)
    for sha, nick in ((SUPERFISH_SHA, "Superfish"), (KZ_SHA, "Qaznet")):
        step = finding(report, sha)["remove"]["steps"][0]
        assert step["store"] == "nss" and step["fix"] is True
        assert step["commands"] == [["certutil", "-D", "-d", f"sql:{db}", "-n", nick]]

    proc = run("--nss-db", str(db), "--fix", "--yes", home=home, config=config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    backups = list((home / ".local/state/rootsentinel/backups").iterdir())
    assert len(backups) == 1 and f"backup: {backups[0]} (new folder under your state dir)" in proc.stdout
    assert f"certutil -D -d sql:{db} -n Superfish" in proc.stdout and "rescan: all 2 targeted roots gone" in proc.stdout
    assert listed(db) == {}
    manifest = json.loads((backups[0] / "manifest.json").read_text())
    jsonschema.validate(manifest, schema("backup"))
    assert manifest["root"] is None
    # never the module list: certutil -D does not change it, and --undo must not be able to write one
    assert sorted(Path(e["original"]).name for e in manifest["entries"]) == ["cert9.db", "key4.db"]
    for e in manifest["entries"]:
        assert e["store"] == "nss" and e["location"] == f"sql:{db}"
        assert hashlib.sha256((backups[0] / e["backup"]).read_bytes()).hexdigest() == e["sha256"]
    events = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert sorted(e["rootsentinel"]["fix"]["cert_sha256"] for e in events) == sorted([SUPERFISH_SHA, KZ_SHA])
    assert {e["event"]["action"] for e in events} == {"trusted-root-removed"}
    assert {e["event"]["outcome"] for e in events} == {"success"}

    proc = run("--undo", str(backups[0]), home=home, config=config)
    assert proc.returncode == 0, proc.stderr
    assert f"restored {db / 'cert9.db'} (nss)" in proc.stdout
    assert listed(db) == before  # same nicknames, same fingerprints
    events = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert [e["event"]["action"] for e in events].count("trusted-root-restored") == 2


@needs_certutil
def test_no_tty_without_yes_refuses_and_changes_nothing(tmp_path):
    home = tmp_path / "home"
    db = nss_db(home / ".pki/nssdb", ("Superfish", "C,,", SUPERFISH_PEM))
    hashes = tree_hashes(db)
    proc = run("--nss-db", str(db), "--fix", home=home)
    assert "no terminal to ask on; add --yes" in one_line_error(proc)
    assert tree_hashes(db) == hashes and not (home / ".local/state").exists()
    assert listed(db) == {"Superfish": SUPERFISH_SHA}


def test_fix_options_are_refused_alone_or_combined_wrongly(tmp_path):
    for args in (("--yes",), ("--dry-run",), ("--include-interception",), ("--backup", "x"),
                 ("--fix", "--json"), ("--undo", "x", "--fix"), ("--undo", "x", "--json")):
        one_line_error(run(*args, home=tmp_path))


# --- Linux anchors and ca-certificates.conf under --root ----------------------------------------------

def debian_tree(root: Path, *anchors: tuple[str, bytes]) -> None:
    """A Debian tree: one Mozilla root the distribution ships (update-ca-certificates rebuilds the bundle only
    when it has something to put in it), the anchors given, and the bundle built by the real tool."""
    put(root, "/etc/debian_version", b"12.5\n")
    put(root, "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
        [b for b in certifi_blocks() if b"MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw" in b][0])
    put(root, "/etc/ca-certificates.conf", b"# comment\nmozilla/ISRG_Root_X1.crt\n")
    (root / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
    (root / "usr/local/share/ca-certificates").mkdir(parents=True, exist_ok=True)
    for name, pem in anchors:
        put(root, f"/usr/local/share/ca-certificates/{name}", pem)
    rebuild(root)


def rebuild(root: Path) -> None:
    subprocess.run(["update-ca-certificates", "--certsconf", str(root / "etc/ca-certificates.conf"), "--certsdir",
                    str(root / "usr/share/ca-certificates"), "--localcertsdir",
                    str(root / "usr/local/share/ca-certificates"), "--etccertsdir", str(root / "etc/ssl/certs"),
                    "--hooksdir", "/dev/null"], check=True, capture_output=True)


def bundle_hashes(root: Path) -> set[str]:
    from native_host.scan._files import parse_cert_file

    return {sha256(d) for d in parse_cert_file((root / "etc/ssl/certs/ca-certificates.crt").read_bytes())}


@needs_update_ca
def test_anchor_fix_deletes_the_file_rebuilds_inside_the_tree_and_undo_restores(tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    debian_tree(root, ("qaznet.crt", KZ_PEM))
    anchor = root / "usr/local/share/ca-certificates/qaznet.crt"
    assert KZ_SHA in bundle_hashes(root)
    anchor.chmod(0o644)
    mode = anchor.stat().st_mode & 0o777
    proc = run("--root", str(root), home=home)
    assert f"rm -- {anchor} && update-ca-certificates" in proc.stdout

    backup = tmp_path / "bk"
    proc = run("--root", str(root), "--fix", "--yes", "--backup", str(backup), home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"backup: {backup} (given with --backup)" in proc.stdout
    assert "rebuilt the bundle: update-ca-certificates --certsconf " + str(root) in proc.stdout
    assert not anchor.exists() and KZ_SHA not in bundle_hashes(root)
    assert len(bundle_hashes(root)) == 1  # the distribution's root is still there
    manifest = json.loads((backup / "manifest.json").read_text())
    jsonschema.validate(manifest, schema("backup"))
    (entry,) = manifest["entries"]
    assert entry | {"backup": None, "sha256": None} == {
        "store": "anchors", "location": str(root / "usr/local/share/ca-certificates"), "action": "delete-file",
        "original": str(anchor), "backup": None, "sha256": None, "label": "qaznet.crt#0", "cert_sha256": KZ_SHA,
        "family": "debian"}

    proc = run("--undo", str(backup), home=home)
    assert proc.returncode == 0, proc.stderr
    assert f"restored {anchor} (anchors)" in proc.stdout and "rebuilt the bundle" in proc.stdout
    assert anchor.read_bytes() == KZ_PEM and KZ_SHA in bundle_hashes(root)
    assert anchor.stat().st_mode & 0o777 == mode  # the file's mode comes back too, not mkstemp's 0600


@needs_update_ca
def test_distribution_root_is_disabled_in_the_trees_conf_and_undo_restores_the_conf(tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    debian_tree(root)
    put(root, "/usr/share/ca-certificates/mozilla/Superfish.crt", SUPERFISH_PEM)
    conf = root / "etc/ca-certificates.conf"
    conf.write_bytes(conf.read_bytes() + b"mozilla/Superfish.crt\n")
    original_conf = conf.read_bytes()
    rebuild(root)
    assert SUPERFISH_SHA in bundle_hashes(root)
    backup = tmp_path / "bk"
    proc = run("--root", str(root), "--fix", "--yes", "--backup", str(backup), home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"!mozilla/Superfish.crt in {conf}" in proc.stdout
    assert conf.read_text().splitlines()[-1] == "!mozilla/Superfish.crt"
    assert SUPERFISH_SHA not in bundle_hashes(root)
    proc = run("--undo", str(backup), home=home)
    assert proc.returncode == 0, proc.stderr
    assert conf.read_bytes() == original_conf and SUPERFISH_SHA in bundle_hashes(root)


@needs_update_ca
def test_dry_run_changes_nothing(tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    debian_tree(root, ("qaznet.crt", KZ_PEM))
    hashes = tree_hashes(root)
    proc = run("--root", str(root), "--fix", "--dry-run", "--backup", str(tmp_path / "bk"), home=home)
    assert proc.returncode == 2 and "dry run: nothing changed" in proc.stdout
    assert f"rm -- {root / 'usr/local/share/ca-certificates/qaznet.crt'}" in proc.stdout
    assert tree_hashes(root) == hashes and not (tmp_path / "bk").exists() and not home.exists()


@needs_update_ca
def test_interception_roots_are_kept_unless_included(tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    private, _ = make_root("Example Corp TLS Inspection Root")
    debian_tree(root, ("qaznet.crt", KZ_PEM), ("corp.crt", pem_chain(private)))
    corp = root / "usr/local/share/ca-certificates/corp.crt"
    proc = run("--root", str(root), "--fix", "--yes", "--backup", str(tmp_path / "bk1"), home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kept 1 non-public root place(s)" in proc.stdout and "--include-interception" in proc.stdout
    assert corp.exists() and not (root / "usr/local/share/ca-certificates/qaznet.crt").exists()
    assert sha256(der(private)) in bundle_hashes(root)
    proc = run("--root", str(root), "--fix", "--yes", "--include-interception", "--backup", str(tmp_path / "bk2"),
               home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not corp.exists() and sha256(der(private)) not in bundle_hashes(root)


# --- a manifest is untrusted input --------------------------------------------------------------------

@needs_update_ca
@pytest.mark.parametrize("tamper", ["bad_sha256", "escaping_path", "outside_location", "schema", "not_json"])
def test_tampered_manifest_is_refused_with_one_line(tmp_path, tamper):
    root, home = tmp_path / "root", tmp_path / "home"
    debian_tree(root, ("qaznet.crt", KZ_PEM))
    backup = tmp_path / "bk"
    assert run("--root", str(root), "--fix", "--yes", "--backup", str(backup), home=home).returncode == 0
    path = backup / "manifest.json"
    doc = json.loads(path.read_text())
    entry = doc["entries"][0]
    if tamper == "bad_sha256":
        (backup / entry["backup"]).write_bytes(SUPERFISH_PEM)
    elif tamper == "escaping_path":
        entry["original"] = entry["location"] + "/../../../../etc/cron.d/x.crt"
    elif tamper == "outside_location":
        entry["original"] = str(root / "etc/x.crt")
    elif tamper == "schema":
        entry["run"] = ["sh", "-c", "touch pwned"]
    path.write_text("{" if tamper == "not_json" else json.dumps(doc))
    hashes = tree_hashes(root)
    err = one_line_error(run("--undo", str(backup), home=home))
    assert err.startswith("rootsentinel: --undo")
    assert tree_hashes(root) == hashes and not (root / "usr/local/share/ca-certificates/qaznet.crt").exists()


# --- Windows and macOS through the recorded command runner ----------------------------------------------

class Recorded:
    """The one command runner, answering from recorded output: ``{argv tuple: Result}``; records argv."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def __call__(self, argv):
        self.calls.append(list(argv))
        key = tuple(argv[:3])
        return self.answers.get(key) or self.answers[tuple(argv[:2])]


def test_windows_fix_and_undo_through_the_recorded_runner(tmp_path):
    stores = json.loads((SCAN / "windows-stores.json").read_bytes())
    report = scan_with(ScanContext(run=fake_runner({"powershell.exe": (SCAN / "windows-stores.json").read_bytes()})),
                       (_windows,))
    chosen = targets(report)
    assert {s.location for _, s in chosen} == {"Cert:\\LocalMachine\\Root", "Cert:\\LocalMachine\\CA"}
    superfish = [(f, s) for f, s in chosen if f.facts.cert_sha256 == SUPERFISH_SHA][0]
    thumb = hashlib.sha1(der(load_leaked("superfish")[0])).hexdigest().upper()
    ok = Result(0, (FIX / "certutil-delstore-ok.txt").read_bytes())
    notfound = Result(-2146885628 & 0xFFFFFFFF, (FIX / "certutil-delstore-notfound.txt").read_bytes())
    runner = Recorded({("certutil", "-delstore", "Root"): ok, ("certutil", "-delstore", "CA"): notfound,
                       ("certutil", "-addstore"): Result(0, (FIX / "certutil-addstore-ok.txt").read_bytes())})
    outcomes, notes, _ = apply(chosen, ScanContext(), tmp_path / "bk", runner)
    assert ["certutil", "-delstore", "Root", thumb] in runner.calls and notes == []
    by_loc = {o.step.location: o for o in outcomes}
    assert by_loc["Cert:\\LocalMachine\\Root"].ok
    assert by_loc["Cert:\\LocalMachine\\Root"].message == "CertUtil: -delstore command completed successfully."
    assert not by_loc["Cert:\\LocalMachine\\CA"].ok and "CRYPT_E_NOT_FOUND" in by_loc["Cert:\\LocalMachine\\CA"].message
    # the rescan (PowerShell output without Superfish) proves it gone; the CA one remains
    after = json.dumps([i for i in stores if i.get("thumbprint", "").upper() != thumb]).encode()
    rescan = scan_with(ScanContext(run=fake_runner({"powershell.exe": after})), (_windows,))
    left = remaining(chosen, rescan)
    assert left and all(where == "Cert:\\LocalMachine\\CA" for _, where in left)
    assert superfish[0].facts.subject not in [s for s, _ in left]

    runner.calls.clear()
    lines, done = undo(tmp_path / "bk", runner)
    manifest = json.loads((tmp_path / "bk/manifest.json").read_text())
    sf_entry = [e for e in manifest["entries"] if e["cert_sha256"] == SUPERFISH_SHA][0]
    backup_file = tmp_path / "bk" / sf_entry["backup"]
    assert ["certutil", "-addstore", "Root", str(backup_file)] in runner.calls
    assert backup_file.read_bytes() == der(load_leaked("superfish")[0]) and done


def test_macos_fix_through_the_recorded_runner(tmp_path):
    root = tmp_path / "root"
    login = put(root, "/Users/ana/Library/Keychains/login.keychain-db", b"keychain")
    ctx = ScanContext(root=root, homes=[Path("/Users/ana")],
                      run=fake_runner({str(login): (SCAN / "macos-login-keychain.pem").read_bytes()}))
    report = scan_with(ctx, (_macos,))
    chosen = targets(report)
    assert chosen and all(s.store == "macos" for _, s in chosen)
    runner = Recorded({("security", "delete-certificate"): Result(0)})
    outcomes, _, _ = apply(chosen, ctx, tmp_path / "bk", runner)
    for (f, _), call in zip(chosen, runner.calls):
        sha1 = hashlib.sha1(f.places[0].installed.der).hexdigest().upper()
        assert call == ["security", "delete-certificate", "-Z", sha1, str(login)]
    assert all(o.ok for o in outcomes)
    assert parse_security(Result(1, b"", (FIX / "security-delete-notfound.txt").read_bytes())) == (
        False, 'Unable to delete certificate matching "0000000000000000000000000000000000000000"')
    runner = Recorded({("security", "add-certificates"): Result(0)})
    lines, done = undo(tmp_path / "bk", runner)
    assert done and runner.calls[0][:4] == ["security", "add-certificates", "-k", str(login)]


def test_certutil_output_parse():
    assert parse_certutil_delstore(Result(0, (FIX / "certutil-delstore-ok.txt").read_bytes())) == (
        True, "CertUtil: -delstore command completed successfully.")
    ok, msg = parse_certutil_delstore(Result(1, (FIX / "certutil-delstore-notfound.txt").read_bytes()))
    assert not ok and msg == "CertUtil: -delstore command FAILED: 0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)"


def test_every_fix_option_is_documented():
    doc = (Path(__file__).parent.parent / "docs/enterprise.md").read_text("utf-8")
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    for option in ("--fix", "--yes", "--dry-run", "--include-interception", "--backup DIR", "--undo BACKUP"):
        assert option in doc, option
    assert "scan --fix" in readme and "scan --undo BACKUP" in readme
    assert "native_host/schemas/backup.schema.json" in doc


@needs_certutil
@pytest.mark.parametrize("answer", [b"n\n", b"y\n"])
def test_on_a_terminal_it_asks_first(tmp_path, answer):
    import pty

    home = tmp_path / "home"
    db = nss_db(home / ".pki/nssdb", ("Superfish", "C,,", SUPERFISH_PEM), ("Qaznet", "C,,", KZ_PEM))
    master, slave = pty.openpty()
    try:
        os.write(master, answer)  # typed ahead: the terminal holds it until the prompt reads a line
        proc = run("--nss-db", str(db), "--fix", home=home, stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
    assert "Remove 2 roots? [y/N] " in proc.stdout
    if answer == b"n\n":
        assert proc.returncode == 2 and "nothing changed" in proc.stdout and len(listed(db)) == 2
    else:
        assert proc.returncode == 0 and listed(db) == {}


@needs_certutil
def test_backup_folder_that_is_not_empty_is_refused_before_any_change(tmp_path):
    home = tmp_path / "home"
    db = nss_db(home / ".pki/nssdb", ("Superfish", "C,,", SUPERFISH_PEM))
    busy = tmp_path / "busy"
    put(busy, "/other.txt", b"x")
    err = one_line_error(run("--nss-db", str(db), "--fix", "--yes", "--backup", str(busy), home=home))
    assert "exists and is not an empty folder" in err and listed(db) == {"Superfish": SUPERFISH_SHA}


def test_a_missing_tool_fails_its_step_not_the_run(tmp_path):
    from native_host.scan.fix import CommandRunner

    report = scan_with(ScanContext(run=fake_runner({"powershell.exe": (SCAN / "windows-stores.json").read_bytes()})),
                       (_windows,))
    chosen = targets(report)
    missing = str(tmp_path / "no-such-certutil.exe")
    for _, step in chosen:
        step.data["argv"] = [missing, *step.data["argv"][1:]]
    outcomes, _, _ = apply(chosen, ScanContext(), tmp_path / "bk", CommandRunner(timeout=5))
    assert len(outcomes) == 2 and all(not o.ok and o.message == f"{missing} is not installed" for o in outcomes)
    assert CommandRunner(timeout=5)([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(4)"]) \
        == Result(4, b"", b"boom")


@needs_update_ca
def test_shared_anchors_file_is_rewritten_and_a_hand_edited_bundle_comes_back_byte_for_byte(tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    isrg = [b for b in certifi_blocks() if b"MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw" in b][0]
    debian_tree(root, ("both.crt", KZ_PEM + isrg))
    shared = root / "usr/local/share/ca-certificates/both.crt"
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    bundle.write_bytes(bundle.read_bytes() + SUPERFISH_PEM)  # appended by hand: only a rebuild drops it
    before = {shared: shared.read_bytes(), bundle: bundle.read_bytes()}
    backup = tmp_path / "bk"
    proc = run("--root", str(root), "--fix", "--yes", "--backup", str(backup), home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from native_host.scan._files import parse_cert_file

    assert [sha256(d) for d in parse_cert_file(shared.read_bytes())] == [sha256(parse_cert_file(isrg)[0])]
    assert not {KZ_SHA, SUPERFISH_SHA} & bundle_hashes(root)
    actions = sorted(e["action"] for e in json.loads((backup / "manifest.json").read_text())["entries"])
    assert actions == ["regenerate", "rewrite-file"]
    proc = run("--undo", str(backup), home=home)
    assert proc.returncode == 0, proc.stderr
    assert {p: p.read_bytes() for p in before} == before


@needs_certutil
def test_relative_paths_are_recorded_absolute(tmp_path):
    home = tmp_path / "home"
    nss_db(tmp_path / "db", ("Superfish", "C,,", SUPERFISH_PEM))
    env = {k: v for k, v in os.environ.items() if k != "XDG_STATE_HOME"}
    env.update(HOME=str(home), ROOTSENTINEL_CONFIG=str(home / "none.json"))
    proc = subprocess.run([sys.executable, "-m", "native_host", "scan", "--nss-db", "db", "--fix", "--yes",
                           "--backup", "bk"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = json.loads((tmp_path / "bk/manifest.json").read_text())
    assert {e["location"] for e in manifest["entries"]} == {f"sql:{tmp_path / 'db'}"}
    assert run("--undo", str(tmp_path / "bk"), home=home).returncode == 0
    assert listed(tmp_path / "db") == {"Superfish": SUPERFISH_SHA}


@pytest.mark.parametrize("store,action,location,original,why", [
    ("windows", "run", "Cert:\\LocalMachine\\My", "Cert:\\LocalMachine\\My", "not a Windows certificate store"),
    ("macos", "run", "/etc/passwd", "/etc/passwd", "not a keychain"),
    ("nss", "nss-delete", "sql:{d}", "{d}/../evil/cert9.db", "without '..'"),
    ("nss", "nss-delete", "sql:{d}", "{d}/authorized_keys", "not an NSS database file"),
    ("nss", "nss-delete", "sql:{d}", "{d}/cert9.db", "not an NSS database folder"),
    ("distribution", "conf-disable", "/etc/shadow", "/etc/shadow", "is not /etc/ca-certificates.conf"),
    ("anchors", "regenerate", "/etc/profile", "/etc/profile", "not a system bundle"),
    ("anchors", "delete-file", "{d}", "{d}/x.sh", "not an anchors folder"),
    ("anchors", "run", "{d}", "{d}/x.crt", "does not belong"),
])
def test_manifest_entries_that_would_write_elsewhere_are_refused(tmp_path, store, action, location, original, why):
    from native_host.scan.fix import FixError
    from native_host.scan.undo import load_manifest

    folder = tmp_path / "bk"
    folder.mkdir(mode=0o700)
    (folder / "0001-x").write_bytes(SUPERFISH_PEM)
    (tmp_path / "d").mkdir()
    d = str(tmp_path / "d")
    entry = {"store": store, "location": location.format(d=d), "action": action, "original": original.format(d=d),
             "backup": "0001-x", "sha256": sha256(SUPERFISH_PEM)}
    (folder / "manifest.json").write_text(json.dumps({"version": 1, "created": "2026-12-02T18:00:00Z",
                                                      "root": None, "entries": [entry]}))
    with pytest.raises(FixError, match="manifest entry 0 refused") as exc:
        load_manifest(folder)
    assert why in str(exc.value)


@needs_update_ca
def test_trustcor_shipped_by_the_distribution_counts_as_banned_and_is_disabled_by_default(tmp_path):
    """Stock Debian 12 still ships the TrustCor roots Mozilla distrusted: the scan calls them ``banned``
    (blocklist category ``distrusted-ca``), so ``--fix`` removes them without --include-interception."""
    root, home = tmp_path / "root", tmp_path / "home"
    removed = Path(__file__).parent.parent / "build/publicroots-sources/mozilla/removed"
    trustcor = (removed / "d40e9c86cd8fe468c1776959f49ea774fa548684b6c406f3909261f4dce2575c.pem").read_bytes()
    debian_tree(root)
    put(root, "/usr/share/ca-certificates/mozilla/TrustCor_RootCert_CA-1.crt", trustcor)
    conf = root / "etc/ca-certificates.conf"
    conf.write_bytes(conf.read_bytes() + b"mozilla/TrustCor_RootCert_CA-1.crt\n")
    rebuild(root)
    sha = "d40e9c86cd8fe468c1776959f49ea774fa548684b6c406f3909261f4dce2575c"
    proc = run("--root", str(root), "--json", home=home)
    f = finding(json.loads(proc.stdout), sha)
    assert f["status"] == "banned" and f["category"] == "distrusted-ca"
    proc = run("--root", str(root), "--fix", "--yes", "--backup", str(tmp_path / "bk"), home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "!mozilla/TrustCor_RootCert_CA-1.crt" in conf.read_text() and sha not in bundle_hashes(root)


def _manifest(folder: Path, root, entry: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps({"version": 1, "created": "2026-12-02T18:00:00Z",
                                                      "root": root, "entries": [entry]}))


def test_a_symlinked_folder_inside_the_location_does_not_lead_outside(tmp_path):
    from native_host.scan.fix import FixError
    from native_host.scan.undo import load_manifest

    tree, folder, outside = tmp_path / "tree", tmp_path / "bk", tmp_path / "outside"
    anchors = tree / "usr/local/share/ca-certificates"
    for d in (folder, anchors, outside):
        d.mkdir(parents=True)
    folder.chmod(0o700)
    (anchors / "link").symlink_to(outside)
    (folder / "0001-x.crt").write_bytes(SUPERFISH_PEM)
    entry = {"store": "anchors", "location": str(anchors), "action": "delete-file",
             "original": str(anchors / "link/new/x.crt"), "backup": "0001-x.crt", "sha256": sha256(SUPERFISH_PEM)}
    _manifest(folder, str(tree), entry)
    with pytest.raises(FixError, match="escapes"):  # the tree's root, then the location: both are checked
        load_manifest(folder)
    entry["original"] = str(anchors / "sub/x.crt")  # a folder that is gone is made again, inside
    _manifest(folder, str(tree), entry)
    assert load_manifest(folder)["entries"] == [entry]


def test_a_manifest_without_root_cannot_write_a_pem_outside_an_anchors_folder(tmp_path):
    """Issue 22 item 14: with ``root: null`` an anchors entry could name any folder as its location and
    ``--undo`` wrote the PEM there (making the folders on the way)."""
    from native_host.scan.fix import FixError
    from native_host.scan.undo import load_manifest

    folder, target = tmp_path / "bk", tmp_path / "home/ana/.config/autostart"
    folder.mkdir(mode=0o700)
    (folder / "0001-x.pem").write_bytes(SUPERFISH_PEM)
    entry = {"store": "anchors", "location": str(target), "action": "rewrite-file",
             "original": str(target / "evil.pem"), "backup": "0001-x.pem", "sha256": sha256(SUPERFISH_PEM)}
    _manifest(folder, None, entry)
    with pytest.raises(FixError, match="is not an anchors folder of the system"):
        load_manifest(folder)
    assert not target.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners and modes")
def test_a_backup_that_others_can_write_or_own_is_refused(tmp_path):
    from native_host.scan.fix import FixError
    from native_host.scan.undo import load_manifest

    folder = tmp_path / "bk"
    folder.mkdir(mode=0o700)
    (folder / "0001-x.crt").write_bytes(SUPERFISH_PEM)
    _manifest(folder, None, {"store": "windows", "location": "Cert:\\LocalMachine\\Root", "action": "run",
                             "original": "Cert:\\LocalMachine\\Root", "backup": "0001-x.crt",
                             "sha256": sha256(SUPERFISH_PEM)})
    assert load_manifest(folder)["entries"][0]["store"] == "windows"
    (folder / "manifest.json").chmod(0o666)
    with pytest.raises(FixError, match="writable by group or others"):
        load_manifest(folder)
    (folder / "manifest.json").chmod(0o600)
    if os.geteuid() == 0:
        os.chown(folder, 65534, 65534)
        with pytest.raises(FixError, match="belongs to uid 65534, not to you"):
            load_manifest(folder)
