"""``scan`` says how to remove each finding (issue 14, item 4): real Qaznet and Superfish roots in a real
NSS database (certutil) and in a Debian anchors folder of a ``--root`` tree; commands are argv lists and
the text quotes attacker-controlled nicknames."""

from __future__ import annotations

import shlex

from certkit import der, load_leaked, sha256
from cryptography import x509
from test_scan import KZ_2019, SUPERFISH_PEM, finding, needs_certutil, nss_db, put, run_scan

from native_host.scan.remove import command_line, sed_disable

SUPERFISH_SHA = sha256(der(load_leaked("superfish")[0]))
KZ_SHA = sha256(der(x509.load_pem_x509_certificate(KZ_2019.read_bytes())))


@needs_certutil
def test_removal_steps_for_nss_and_anchors_under_root(tmp_path):
    root = tmp_path / "root"
    db = nss_db(root / "home/ana/.pki/nssdb", ("Superfish; $(touch x)", "C,,", SUPERFISH_PEM))
    put(root, "/etc/debian_version", b"12.5\n")
    anchor = put(root, "/usr/local/share/ca-certificates/qaznet.crt", KZ_2019.read_bytes())
    code, report, _ = run_scan(root, "--json")
    assert code == 2
    sf = finding(report, SUPERFISH_SHA)["remove"]
    assert sf["commands"] == [["certutil", "-D", "-d", f"sql:{db}", "-n", "Superfish; $(touch x)"]]
    assert sf["steps"][0]["store"] == "nss" and sf["steps"][0]["fix"] is True
    assert "-n 'Superfish; $(touch x)'" in sf["text"]
    kz = finding(report, KZ_SHA)["remove"]
    assert kz["commands"][0] == ["rm", "--", str(anchor)]
    regen = kz["commands"][1]
    assert regen[0] == "update-ca-certificates" and "--hooksdir" in regen
    assert all(a.startswith(str(root)) for a in regen[2:-2:2])  # every path inside the tree
    code, text, _ = run_scan(root)
    assert f"to remove from nss sql:{db}: " in text and f"rm -- {anchor} && update-ca-certificates" in text


def test_distribution_root_is_disabled_in_ca_certificates_conf(tmp_path):
    root = tmp_path / "root"
    put(root, "/etc/debian_version", b"12.5\n")
    put(root, "/usr/share/ca-certificates/mozilla/Superfish.crt", SUPERFISH_PEM)
    put(root, "/etc/ca-certificates.conf", b"mozilla/Superfish.crt\n")
    put(root, "/etc/ssl/certs/ca-certificates.crt", SUPERFISH_PEM)
    code, report, _ = run_scan(root, "--json")
    assert code == 2
    step = finding(report, SUPERFISH_SHA)["remove"]["steps"][0]
    assert step["store"] == "distribution" and step["label"] == "mozilla/Superfish.crt"
    assert step["commands"][0] == sed_disable("mozilla/Superfish.crt", str(root / "etc/ca-certificates.conf"))
    assert step["commands"][0][3] == r"s/^mozilla\/Superfish\.crt$/!&/"
    assert "ships it" in step["text"]


def test_command_line_quoting_and_escaping():
    assert command_line(["certutil", "-n", "a b'c"]) == "certutil -n " + shlex.quote("a b'c")
    assert command_line(["certutil", "-delstore", "Root", "a b"], windows=True) == 'certutil -delstore Root "a b"'
    assert "\x1b" not in command_line(["rm", "--", "/x/\x1b[31mred"])
