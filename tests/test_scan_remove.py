"""``scan`` says how to remove each finding (issue 14, item 4): real Qaznet and Superfish roots in a real
NSS database (certutil) and in a Debian anchors folder of a ``--root`` tree; commands are argv lists and
the text quotes attacker-controlled nicknames."""

from __future__ import annotations

import shlex

import pytest

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


HOSTILE_NICKNAMES = ["Printer&calc.exe", "a%PATH%b", 'x"&calc', "x'y", "$(calc)", "a^b", "a|b<c>d", "back\\",
                     "Superfish, Inc. $x", "!USERNAME!", "a\u2019;calc;\u2018", "(x)&&y", "`calc`"]


@pytest.mark.parametrize("nick", HOSTILE_NICKNAMES)
def test_windows_commands_cannot_be_misread_by_cmd_or_powershell(nick):
    """Issue 22 item 13: the cmd.exe form splits back (cmd.exe's carets and quotes, then the C runtime's
    rules: ``mslex.split``, which refuses any metacharacter cmd.exe would act on) into exactly the argv; the
    PowerShell form is single-quoted literals (nothing expands in them) that read back as the argv."""
    import mslex

    from native_host.scan.remove import windows_command_line

    argv = ["C:\\Program Files\\NSS\\certutil.exe", "-D", "-d", "sql:C:\\Users\\ana\\AppData\\Roaming\\x", "-n", nick]
    text = windows_command_line(argv)
    if not text.startswith("in cmd.exe: "):  # one form for both shells: nothing either would act on
        assert mslex.split(text, like_cmd=True, check=True) == argv
        assert not set(text) & set("$`'\u2018\u2019&|<>^%!;(){}@")
        return
    cmd, ps = text.removeprefix("in cmd.exe: ").split("  in PowerShell: & ")
    assert mslex.split(cmd, like_cmd=True, check=True) == argv
    words, pos = [], 0
    while pos < len(ps):  # PowerShell single-quoted strings: '' (or a doubled typographic quote) is one quote
        assert ps[pos] == "'", ps
        end, word = pos + 1, ""
        while True:
            c = ps[end]
            if c in "'\u2018\u2019\u201a\u201b":
                if end + 1 < len(ps) and ps[end + 1] == c:
                    word, end = word + c, end + 2
                    continue
                break
            word, end = word + c, end + 1
        words.append(word)
        pos = end + 2  # the closing quote and the space
    assert words == argv


def test_plain_windows_commands_are_shown_once():
    from native_host.scan.remove import windows_command_line

    assert windows_command_line(["certutil", "-user", "-delstore", "Root", "A1B2C3"]) == \
        "certutil -user -delstore Root A1B2C3"
