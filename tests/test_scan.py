"""``rootsentinel scan``: real roots planted into real NSS databases (NSS certutil) and into system bundles
and anchors folders of a temporary ``--root`` tree; the Windows and macOS readers through their parsers
on recorded tool output (tests/fixtures/scan/, see PROVENANCE.md there)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from certkit import FIXTURES, LEAKED, SOURCES, der, load_leaked, make_root, pem_chain, sha256
from cryptography import x509

from native_host.engine.certfacts import cert_facts
from native_host.scan import _files, _macos, _nss, _windows, readers, scan_with
from native_host.scan.model import ScanContext, StoreUnreadable, ToolMissing
from native_host.scan.report import REPORT_SCHEMA
from native_host.engine.verdict import Policy

SCAN = FIXTURES / "scan"
MOZILLA_BUNDLE = Path(__file__).parent.parent / "build" / "publicroots-sources" / "mozilla" / "cacert.pem"
SUPERFISH_PEM = (LEAKED / "superfish.crt.pem").read_bytes()
SUPERFISH_SHA = sha256(der(load_leaked("superfish")[0]))
EDELL_PEM = (LEAKED / "edellroot.crt.pem").read_bytes()
KZ_2019 = SOURCES / "certs" / "b5ba8dd7f89564c2889d3d6453c84998c77824919b64ea0835aa62986591be50.pem"
needs_certutil = pytest.mark.skipif(shutil.which("certutil") is None,
                                    reason="NSS certutil missing: apt-get install libnss3-tools (make setup does)")


def certifi_blocks() -> list[bytes]:
    """The pinned certifi release's Mozilla bundle (the public store's source) as PEM blocks, byte for byte
    (``cryptography`` would warn on one of them)."""
    text = MOZILLA_BUNDLE.read_bytes()
    return [b"-----BEGIN CERTIFICATE-----" + part.split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n"
            for part in text.split(b"-----BEGIN CERTIFICATE-----")[1:]]


def certifi_pem(n: int | None = None) -> bytes:
    """The first ``n`` (default all) certificates of that Mozilla bundle, as PEM."""
    return b"".join(certifi_blocks()[:n])


def run_scan(root: Path, *args: str, env: dict | None = None) -> tuple[int, dict | str, str]:
    """``python -m native_host scan --root ROOT [--json] ARGS``: (exit code, parsed JSON or text, stderr)."""
    full_env = {**os.environ, "ROOTSENTINEL_CONFIG": str(root.parent / "no-config.json"), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "native_host", "scan", "--root", str(root), *args],
                          capture_output=True, text=True, env=full_env, timeout=120)
    out: dict | str = json.loads(proc.stdout) if "--json" in args else proc.stdout
    if isinstance(out, dict):
        jsonschema.validate(out, REPORT_SCHEMA)
    return proc.returncode, out, proc.stderr


def put(root: Path, system_path: str, data: bytes) -> Path:
    path = root / system_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def nss_db(folder: Path, *certs: tuple[str, str, bytes]) -> Path:
    """A real NSS database in ``folder`` with ``(nickname, trust, pem)`` certificates added by certutil."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{folder}"], check=True, capture_output=True)
    for nick, trust, pem in certs:
        src = folder / "add.pem"
        src.write_bytes(pem)
        subprocess.run(["certutil", "-A", "-d", f"sql:{folder}", "-n", nick, "-t", trust, "-i", str(src)],
                       check=True, capture_output=True)
        src.unlink()
    return folder


def finding(report: dict, cert_sha256: str) -> dict:
    matches = [f for f in report["findings"] if f["cert_sha256"] == cert_sha256]
    assert matches, f"{cert_sha256} not in findings"
    return matches[0]


# --- NSS ------------------------------------------------------------------------------------------------

@needs_certutil
def test_json_report_writes_control_and_bidi_characters_of_a_nickname_as_escapes(tmp_path):
    """``scan --json`` goes to terminals and log pipelines: a nickname is attacker text, so its bidi and
    control characters are written as JSON escapes (the value read back is unchanged)."""
    root = tmp_path / "root"
    nick = "Superfish\u202egnp.exe\u0007 Root"
    nss_db(root / "home/ana/.pki/nssdb", (nick, "C,,", SUPERFISH_PEM))
    proc = subprocess.run([sys.executable, "-m", "native_host", "scan", "--root", str(root), "--json"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ROOTSENTINEL_CONFIG": str(tmp_path / "no-config.json")})
    assert proc.returncode == 2, proc.stderr
    assert "\u202e" not in proc.stdout and "\u0007" not in proc.stdout
    assert "\\u202e" in proc.stdout
    assert finding(json.loads(proc.stdout), SUPERFISH_SHA)["found_in"][0]["label"] == nick


def test_nss_list_parser_on_recorded_output():
    rows = _nss.parse_list((SCAN / "nss-list.txt").read_bytes())
    assert rows == [("Superfish, Inc. SuperFish, Inc.", "C,,"), ("BadSSL MITM Software Test - BadSSL", "CT,C,C"),
                    ("eDellRoot", "p,p,p"), ("DigiNotar PKIoverheid CA Overheid", ",,")]
    assert [_nss.trust_flags(t) for _, t in rows] == [(True, False), (True, False), (False, True), (False, False)]
    with pytest.raises(StoreUnreadable):
        _nss.parse_list(b"certutil: function failed: SEC_ERROR_BAD_DATABASE\n")


@needs_certutil
def test_banned_root_planted_in_firefox_profile_is_found_with_its_location(tmp_path):
    root = tmp_path / "root"
    profile = root / "home/ana/.mozilla/firefox/k3x9.default-release"
    nss_db(profile, ("Superfish, Inc. SuperFish, Inc.", "C,,", SUPERFISH_PEM))
    nss_db(root / "home/ana/.pki/nssdb", ("eDellRoot", "p,p,p", EDELL_PEM))
    code, report, _ = run_scan(root, "--json")
    assert code == 2 and report["level"] == "banned" and report["exit_code"] == 2
    f = finding(report, SUPERFISH_SHA)
    assert f["status"] == "banned" and f["category"] == "malware-mitm" and f["matched"]["by"] == "spki_sha256"
    assert f["found_in"] == [{"kind": "nss", "location": "sql:/home/ana/.mozilla/firefox/k3x9.default-release",
                              "owner": "firefox", "label": "Superfish, Inc. SuperFish, Inc.", "trust": "C,,",
                              "anchor": True, "status": "banned"}]
    # eDellRoot is banned too, but this database distrusts it (p,p,p): reported only with --all
    assert all(f["subject"] != "CN=eDellRoot" for f in report["findings"])
    assert {s["location"]: s["certificates"] for s in report["stores"] if s["kind"] == "nss"} == {
        "sql:/home/ana/.mozilla/firefox/k3x9.default-release": 1, "sql:/home/ana/.pki/nssdb": 1}
    code, report, _ = run_scan(root, "--json", "--all")
    edell = [f for f in report["findings"] if f["subject"] == "CN=eDellRoot"][0]
    assert edell["status"] == "distrusted" and edell["matched"]["entry"]["category"] == "malware-mitm"
    code, text, _ = run_scan(root)
    assert "BANNED: CN=Superfish\\, Inc." in text
    assert f'found in nss sql:{root}/home/ana/.mozilla/firefox/k3x9.default-release (Superfish, Inc. SuperFish, Inc., trust C,,): banned' in text


@needs_certutil
def test_nss_cached_intermediate_without_trust_is_not_an_anchor(tmp_path):
    root = tmp_path / "root"
    private, _ = make_root("Cached Private CA")
    nss_db(root / "root/.pki/nssdb", ("cached", ",,", pem_chain(private)))
    code, report, _ = run_scan(root, "--json", "--all")
    assert code == 0
    assert finding(report, sha256(der(private)))["status"] == "intermediate"


@needs_certutil
def test_firefox_profile_outside_the_default_folder_via_profiles_ini(tmp_path):
    root = tmp_path / "root"
    nss_db(root / "srv/profiles/work", ("Superfish", "C,,", SUPERFISH_PEM))
    put(root, "/home/bo/.mozilla/firefox/profiles.ini",
        b"[Profile0]\nName=work\nIsRelative=0\nPath=/srv/profiles/work\nDefault=1\n")
    code, report, _ = run_scan(root, "--json")
    assert code == 2
    assert finding(report, SUPERFISH_SHA)["found_in"][0]["location"] == "sql:/srv/profiles/work"


def test_nss_database_that_is_not_sqlite_is_an_error_and_exit_3(tmp_path):
    root = tmp_path / "root"
    put(root, "/home/ana/.pki/nssdb/cert9.db", b"")
    code, report, err = run_scan(root, "--json")
    assert code == 3 and report["findings"] == []
    assert report["stores"][0]["error"] == "cert9.db is not an SQLite database"
    assert "cannot read sql:/home/ana/.pki/nssdb" in err


@needs_certutil
def test_cert9_is_read_without_nss_certutil(tmp_path):
    """``cert9.db`` is SQLite: the scan reads it with no NSS tool at all (none runs, none is needed)."""
    root = tmp_path / "root"
    nss_db(root / "home/ana/.pki/nssdb", ("Superfish", "C,,", SUPERFISH_PEM), ("eDellRoot", "p,p,p", EDELL_PEM))
    code, report, _ = run_scan(root, "--json", "--all", env={"ROOTSENTINEL_NSS_CERTUTIL": str(tmp_path / "none")})
    assert code == 2
    assert finding(report, SUPERFISH_SHA)["found_in"][0]["trust"] == "C,,"
    assert [f for f in report["findings"] if f["subject"] == "CN=eDellRoot"][0]["status"] == "distrusted"


# --- Linux files ----------------------------------------------------------------------------------------

def test_banned_root_planted_in_system_bundle_is_found(tmp_path):
    root = tmp_path / "root"
    put(root, "/etc/ssl/certs/ca-certificates.crt", certifi_pem(20) + SUPERFISH_PEM)
    code, report, _ = run_scan(root, "--json")
    assert code == 2
    f = finding(report, SUPERFISH_SHA)
    assert f["found_in"] == [{"kind": "linux-bundle", "location": "/etc/ssl/certs/ca-certificates.crt",
                              "owner": "system", "label": "#20", "trust": None, "anchor": True, "status": "banned"}]
    assert report["counts"]["public"] == 20 and report["counts"]["banned"] == 1


def test_fresh_private_root_is_reported_non_public(tmp_path):
    root = tmp_path / "root"
    private, _ = make_root("Corp TLS Inspection Root")
    put(root, "/etc/ssl/certs/ca-certificates.crt", certifi_pem(5) + pem_chain(private))
    put(root, "/usr/local/share/ca-certificates/corp/inspection.crt", pem_chain(private))
    code, report, _ = run_scan(root, "--json")
    assert code == 1 and report["level"] == "interception"
    f = finding(report, sha256(der(private)))
    assert (f["status"], f["reason"], f["matched"]) == ("non-public", "non_public_anchor", None)
    assert [(p["kind"], p["location"], p["label"]) for p in f["found_in"]] == [
        ("linux-bundle", "/etc/ssl/certs/ca-certificates.crt", "#5"),
        ("linux-anchors", "/usr/local/share/ca-certificates", "corp/inspection.crt#0")]


def test_bundle_of_only_certifi_roots_exits_0(tmp_path):
    root = tmp_path / "root"
    put(root, "/etc/ssl/certs/ca-certificates.crt", certifi_pem())
    code, report, _ = run_scan(root, "--json")
    n = len(certifi_blocks())
    assert code == 0 and report["level"] == "ok" and report["findings"] == []
    assert report["counts"]["public"] == report["counts"]["certificates"] == n


def test_kazakhstan_style_private_root_is_flagged_kz(tmp_path):
    root = tmp_path / "root"
    kz, _ = make_root("Unknown Security Certificate", country="KZ")
    put(root, "/etc/pki/ca-trust/source/anchors/kz.pem", pem_chain(kz))
    code, report, _ = run_scan(root, "--json")
    assert code == 1 and finding(report, sha256(der(kz)))["reason"] == "kz_issuer"


def test_real_kazakhstan_root_as_der_in_anchors_is_banned_state_mitm(tmp_path):
    root = tmp_path / "root"
    kz = x509.load_pem_x509_certificate(KZ_2019.read_bytes())
    put(root, "/etc/pki/ca-trust/source/anchors/qaznet.cer", der(kz))  # RHEL accepts DER anchors
    code, report, _ = run_scan(root, "--json")
    assert code == 2 and finding(report, sha256(der(kz)))["category"] == "state-mitm"


def test_symlinked_bundles_are_read_once_and_resolved_inside_root(tmp_path):
    root = tmp_path / "root"
    put(root, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", certifi_pem(3) + SUPERFISH_PEM)
    link = root / "etc/pki/tls/certs/ca-bundle.crt"
    link.parent.mkdir(parents=True)
    link.symlink_to("/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")  # absolute, as Fedora ships it
    (root / "etc/ssl").mkdir(parents=True)
    (root / "etc/ssl/cert.pem").symlink_to("../pki/tls/certs/ca-bundle.crt")
    code, report, _ = run_scan(root, "--json")
    assert code == 2
    assert [s["location"] for s in report["stores"]] == ["/etc/pki/tls/certs/ca-bundle.crt"]


def test_distrust_folder_and_trusted_certificate_blocks(tmp_path):
    root = tmp_path / "root"
    put(root, "/etc/pki/ca-trust/source/blocklist/superfish.pem", SUPERFISH_PEM)
    code, report, _ = run_scan(root, "--json", "--all")
    assert code == 0 and finding(report, SUPERFISH_SHA)["status"] == "distrusted"
    # OpenSSL's TRUSTED CERTIFICATE: the certificate followed by trust settings; only the certificate counts
    cert_der = der(load_leaked("superfish")[0])
    aux = bytes([0x30, 0x03, 0x04, 0x01, 0x00])
    body = base64.encodebytes(cert_der + aux).decode()
    trusted = f"-----BEGIN TRUSTED CERTIFICATE-----\n{body}-----END TRUSTED CERTIFICATE-----\n".encode()
    assert _files.parse_cert_file(trusted) == [cert_der]


def test_bundle_entries_shipped_by_the_distribution_are_vendor(tmp_path):
    root = tmp_path / "root"
    old, _ = make_root("Root Mozilla Dropped But The Distribution Still Ships")
    added, _ = make_root("Root Someone Added")
    put(root, "/usr/share/ca-certificates/mozilla/Old_Root.crt", pem_chain(old))
    put(root, "/etc/ssl/certs/ca-certificates.crt", pem_chain(old, added))
    code, report, _ = run_scan(root, "--json", "--all")
    assert code == 1
    assert finding(report, sha256(der(old)))["status"] == "vendor"
    assert finding(report, sha256(der(added)))["status"] == "non-public"


def test_policy_allowlist_and_ban(tmp_path):
    root = tmp_path / "root"
    proxy, _ = make_root("Company Proxy Root")
    other, _ = make_root("Root The Company Banned")
    put(root, "/etc/ssl/certs/ca-certificates.crt", pem_chain(proxy))
    proxy_spki = cert_facts(der(proxy)).spki_sha256
    config = {"allow_spki_sha256": [proxy_spki]}
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    code, report, _ = run_scan(root, "--json", env={"ROOTSENTINEL_CONFIG": str(cfg)})
    assert code == 1 and report["level"] == "notice"
    assert finding(report, sha256(der(proxy)))["status"] == "allowlisted"
    # the library with a policy ban
    other_spki = cert_facts(der(other)).spki_sha256
    put(root, "/etc/ssl/certs/ca-certificates.crt", pem_chain(other))
    ctx = ScanContext(root=root, homes=[])
    rep = scan_with(ctx, (_files,), policy=Policy(banned={other_spki: "not ours"}))
    assert rep.exit_code == 2 and rep.findings[0].matched["entry"]["category"] == "policy"


def test_root_that_is_not_a_folder_exits_3(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "native_host", "scan", "--root", str(tmp_path / "nope")],
                          capture_output=True, text=True)
    assert proc.returncode == 3 and "not a folder" in proc.stderr and proc.stdout == ""


# --- Windows (recorded PowerShell output) ---------------------------------------------------------------

def fake_runner(outputs: dict[str, bytes]):
    """A Runner that answers by the first argv element that names a key; records the calls."""
    calls = []

    def run(argv):
        calls.append(list(argv))
        for key, value in outputs.items():
            if key in argv:
                if isinstance(value, Exception):
                    raise value
                return value
        raise AssertionError(f"unexpected command {argv}")

    run.calls = calls
    return run


def test_windows_command_runs_the_documented_script():
    argv = _windows.command()
    assert argv[0] == "powershell.exe" and argv[-2] == "-EncodedCommand"
    assert base64.b64decode(argv[-1]).decode("utf-16-le") == _windows.SCRIPT


def test_windows_stores_from_recorded_output():
    output = (SCAN / "windows-stores.json").read_bytes()
    run = fake_runner({"powershell.exe": output})
    ctx = ScanContext(run=run)
    report = scan_with(ctx, (_windows,))
    assert len(run.calls) == 1  # one PowerShell run serves all four stores
    assert [(r.store.location, r.certificates, r.error) for r in report.stores] == [
        ("Cert:\\LocalMachine\\Root", 3, None), ("Cert:\\LocalMachine\\CA", 1, None),
        ("Cert:\\CurrentUser\\Root", 1, None), ("Cert:\\CurrentUser\\CA", 0, None)]
    by_subject = {f.facts.subject: f for f in report.findings}
    superfish = by_subject["CN=Superfish\\, Inc.,C=US,ST=CA,L=SF,O=Superfish\\, Inc."]
    assert superfish.status == "banned"
    assert [p.installed.store.location for p in superfish.places] == ["Cert:\\LocalMachine\\Root"]
    ru = [f for f in report.findings if "Russian Trusted Sub CA" in f.facts.subject][0]
    assert ru.status == "banned" and ru.places[0].installed.anchor is False  # in the CA store
    webpack = [f for f in report.findings if f.facts.subject == "CN=localhost"]
    assert webpack and webpack[0].status == "non-public"
    assert webpack[0].places[0].installed.store.location == "Cert:\\CurrentUser\\Root"
    assert webpack[0].places[0].installed.label == webpack[0].places[0].installed.label.upper()  # thumbprint
    isrg = [f for f in report.findings if "ISRG Root X1" in f.facts.subject][0]
    assert isrg.status == "public"
    assert report.exit_code == 2 and report.counts()["non_public"] == 2


def test_windows_output_quirks():
    items = json.loads((SCAN / "windows-stores.json").read_bytes())
    one = json.dumps(items[1]).encode()
    # PowerShell 5.1 prints a bare object for one item; a UTF-8 BOM; UTF-16 (a redirected Out-File)
    for blob in (one, b"\xef\xbb\xbf" + one, "\ufeff".encode("utf-16-le") + one.decode().encode("utf-16-le")):
        parsed = _windows.parse_output(blob)
        assert list(parsed) == ["LocalMachine\\Root"] and len(parsed["LocalMachine\\Root"]) == 1
    assert _windows.parse_output(b"\r\n") == {}
    assert _windows.parse_output(b"[null]\r\n") == {} and _windows.parse_output(b"[]") == {}
    errored = json.dumps([{"store": "LocalMachine\\CA", "error": "Access is denied.\r\n"}]).encode()
    assert _windows.parse_output(errored) == {"LocalMachine\\CA": "Access is denied."}
    report = scan_with(ScanContext(run=fake_runner({"powershell.exe": errored})), (_windows,))
    assert report.errors == ["Cert:\\LocalMachine\\CA: Cert:\\LocalMachine\\CA: Access is denied."]
    assert report.exit_code == 3
    bad = dict(items[1], thumbprint="00" * 20)
    with pytest.raises(StoreUnreadable, match="thumbprint"):
        _windows.parse_output(json.dumps([bad]).encode())
    with pytest.raises(StoreUnreadable, match="not JSON"):
        _windows.parse_output(b"Get-ChildItem : Cannot find drive.")


def test_windows_without_powershell_is_an_error_per_store():
    report = scan_with(ScanContext(run=fake_runner({"powershell.exe": ToolMissing("powershell.exe is not installed")})),
                       (_windows,))
    assert report.exit_code == 3 and len(report.errors) == 4


# --- macOS (recorded security output) -------------------------------------------------------------------

def test_macos_keychains_from_recorded_output(tmp_path):
    root = tmp_path / "root"
    system = put(root, _macos.SYSTEM_KEYCHAIN, b"keychain")
    login = put(root, "/Users/ana/Library/Keychains/login.keychain-db", b"keychain")
    apple = put(root, _macos.APPLE_ROOTS, b"keychain")
    mitm_pem = (LEAKED / "mitm-software.crt.pem").read_bytes()
    run = fake_runner({str(system): (SCAN / "macos-system-keychain.pem").read_bytes(),
                       str(login): (SCAN / "macos-login-keychain.pem").read_bytes(),
                       str(apple): certifi_pem(2) + mitm_pem})
    ctx = ScanContext(root=root, homes=[Path("/Users/ana")], run=run)
    report = scan_with(ctx, (_macos,))
    assert run.calls[0] == ["security", "find-certificate", "-a", "-p", str(system)]
    assert [(r.store.location, r.certificates) for r in report.stores] == [
        ("/Library/Keychains/System.keychain", 2), ("/System/Library/Keychains/SystemRootCertificates.keychain", 3),
        ("/Users/ana/Library/Keychains/login.keychain-db", 2)]
    kz = [f for f in report.findings if f.matched and f.matched["entry"]["category"] == "state-mitm"][0]
    assert kz.places[0].installed.store.location == "/Users/ana/Library/Keychains/login.keychain-db"
    mitm = [f for f in report.findings if "BadSSL MITM" in f.facts.subject][0]
    # non-public in System.keychain (an admin put it there); in Apple's own keychain it would be Apple's choice
    assert [(p.installed.store.location, p.status) for p in mitm.places] == [
        ("/Library/Keychains/System.keychain", "non-public"),
        ("/System/Library/Keychains/SystemRootCertificates.keychain", "vendor")]
    assert report.exit_code == 2
    assert _macos.parse_output(b"") == []


# --- one place chooses ----------------------------------------------------------------------------------

def test_readers_are_chosen_in_one_place():
    assert readers.for_os("linux") == (_files, _nss)
    assert readers.for_os("macos") == (_macos, _nss)
    assert readers.for_os("windows") == (_windows, _nss)
    assert readers.for_os("windows", rooted=True) == (_files, _nss)
    assert [readers.os_name(p) for p in ("linux", "darwin", "win32", "freebsd14")] == ["linux", "macos", "windows", "linux"]
    ctx, _ = readers.context(platform="win32")
    assert ctx.nss_certutil == os.environ.get("ROOTSENTINEL_NSS_CERTUTIL")  # never Microsoft's certutil.exe
    for module in (_files, _nss, _windows, _macos):
        assert callable(module.discover) and callable(module.read)
    src = "\n".join(p.read_text() for p in Path(_files.__file__).parent.glob("*.py") if p.name != "readers.py")
    assert "sys.platform" not in src and "os.name" not in src


def test_discovery_skips_folders_this_user_may_not_read(tmp_path, monkeypatch):
    """A non-root ``--all-users`` scan meets other users' homes it cannot stat (EACCES): they are skipped."""
    root = tmp_path / "root"
    put(root, "/etc/ssl/certs/ca-certificates.crt", SUPERFISH_PEM)
    (root / "home/bo/.pki/nssdb").mkdir(parents=True)
    real_is_file = Path.is_file

    def is_file(self):
        if "/home/bo" in str(self):
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", is_file)
    ctx, chosen = readers.context(root=root)
    report = scan_with(ctx, chosen)
    assert [r.store.kind for r in report.stores] == ["linux-bundle"] and report.exit_code == 2


def test_a_non_public_root_found_in_a_store_is_named_by_the_catalogue(tmp_path):
    """A mitmproxy-named root planted in the system anchors is non-public and named mitmproxy (dev-tool);
    the real Superfish root stays banned and is named Superfish; an unknown name is named nobody."""
    from cryptography import x509 as _x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    base, key = make_root("placeholder")
    name = _x509.Name([_x509.NameAttribute(NameOID.COMMON_NAME, "mitmproxy"),
                       _x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mitmproxy")])
    mitm = (_x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(_x509.random_serial_number()).not_valid_before(base.not_valid_before_utc)
            .not_valid_after(base.not_valid_after_utc)
            .add_extension(_x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    superfish, _ = load_leaked("superfish")
    unknown, _ = make_root("Nobody Knows This Root")
    root = tmp_path / "root"
    put(root, "/etc/ssl/certs/ca-certificates.crt", certifi_pem(3))
    put(root, "/usr/local/share/ca-certificates/dev/mitmproxy.crt", pem_chain(mitm))
    put(root, "/usr/local/share/ca-certificates/dev/sf.crt", pem_chain(superfish))
    put(root, "/usr/local/share/ca-certificates/dev/unknown.crt", pem_chain(unknown))
    code, report, _ = run_scan(root, "--json")
    assert code == 2
    jsonschema.validate(report, REPORT_SCHEMA)
    f = finding(report, sha256(der(mitm)))
    assert (f["status"], f["category"]) == ("non-public", "dev-tool")
    assert (f["interceptor"]["product"], f["interceptor"]["by"]) == ("mitmproxy", "subject_name")
    f = finding(report, sha256(der(superfish)))
    assert (f["status"], f["category"], f["interceptor"]["product"]) == ("banned", "malware-mitm", "Superfish")
    f = finding(report, sha256(der(unknown)))
    assert (f["status"], f["category"], f["interceptor"]) == ("non-public", None, None)
    code, text, _ = run_scan(root)
    assert "looks like mitmproxy (mitmproxy project), dev-tool, by its name" in text


@needs_certutil
def test_a_nickname_with_a_line_break_hides_nothing(tmp_path):
    """Issue 22 item 9: a certificate whose nickname holds a line break made the whole database unreadable
    (exit 3): the banned root beside it went unreported and ``--fix`` had nothing to remove."""
    root = tmp_path / "root"
    odd, _ = make_root("Odd Nickname Root")
    db = nss_db(root / "home/ana/.pki/nssdb", ("Printer\nname&calc.exe", "C,,", pem_chain(odd)),
                ("Superfish, Inc.", "C,,", SUPERFISH_PEM))
    code, report, _ = run_scan(root, "--json")
    assert code == 2 and report["stores"][0]["error"] is None and report["stores"][0]["certificates"] == 2
    assert finding(report, SUPERFISH_SHA)["found_in"][0]["label"] == "Superfish, Inc."
    assert finding(report, sha256(der(odd)))["found_in"][0]["label"] == "Printer\nname&calc.exe"
    proc = subprocess.run([sys.executable, "-m", "native_host", "scan", "--nss-db", str(db), "--fix", "--yes",
                           "--backup", str(tmp_path / "bk")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ROOTSENTINEL_CONFIG": str(tmp_path / "none.json")})
    assert proc.returncode == 0 and "rescan: all 1 targeted root gone" in proc.stdout, proc.stdout + proc.stderr
