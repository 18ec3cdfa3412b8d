"""build/package_linux.py: the host tarball the Ansible steps unpack and the Debian package (issue 23 items 1, 7).

The Debian package is installed, removed and purged with the real ``dpkg`` in a private mount namespace with
overlays over /etc, /opt, /usr and /var (tests/nskit.py), so the machine never changes: installed, the bundle
answers ``doctor`` through the Firefox system manifest, the Chromium manifests allow the CRX key's id, the timers
are enabled; ``dpkg -r`` leaves only the logrotate conffile; ``dpkg --purge`` leaves nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import nskit
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).parent.parent
sys.path.insert(0, str(REPO / "build"))
import package_linux  # noqa: E402

WATCHED = "/etc /opt /usr/lib/mozilla /usr/lib/systemd/system /usr/bin /var/lib/rootsentinel /var/log/rootsentinel"


@pytest.fixture(scope="module")
def packages(host_bundle, signed_deb, tmp_path_factory) -> dict[str, Path]:
    """The tarball (made here) and the session's Debian package (tests/conftest.py ``signed_deb``)."""
    tarball = package_linux.make_tarball(host_bundle, tmp_path_factory.mktemp("tarball"))
    print(f"\n{tarball.name}: {tarball.stat().st_size / 1e6:.1f} MB")
    return {"tarball": tarball, "deb": signed_deb["deb"], "id": signed_deb["id"]}


def test_tarball_unpacks_to_the_documented_path(packages, tmp_path):
    with tarfile.open(packages["tarball"]) as tar:
        members = tar.getmembers()
        assert {m.name.split("/")[0] for m in members} == {"rootsentinel-host"}
        assert all(m.uid == 0 and m.gid == 0 for m in members)
        exe = tar.getmember("rootsentinel-host/rootsentinel-host")
        assert exe.mode & 0o111
        tar.extractall(tmp_path / "opt-rootsentinel", filter="tar")  # the Ansible unarchive into /opt/rootsentinel/
    exe = tmp_path / "opt-rootsentinel" / "rootsentinel-host" / "rootsentinel-host"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("rootsentinel ")


def test_deb_installs_and_removes_cleanly(packages, tmp_path):
    why = nskit.available()
    if why:
        pytest.skip(why)
    w = tmp_path
    script = f"""
snap() {{ find {WATCHED} 2>/dev/null | sort > {w}/$1.list; }}
snap before
dpkg -i {packages['deb']} > {w}/install.log 2>&1; echo $? > {w}/install.rc
snap installed
dpkg-query -W -f '${{Status}}' rootsentinel > {w}/status.installed 2>&1
dpkg-query -L rootsentinel > {w}/contents.list 2>&1
HOME={w}/home XDG_STATE_HOME={w}/state rootsentinel doctor --browser firefox --scope system > {w}/doctor.out 2>&1
echo $? > {w}/doctor.rc
dpkg -r rootsentinel > {w}/remove.log 2>&1; echo $? > {w}/remove.rc
snap removed
dpkg --purge rootsentinel > {w}/purge.log 2>&1; echo $? > {w}/purge.rc
snap purged
dpkg-query -W -f '${{Status}}' rootsentinel > {w}/status.purged 2>&1
true
"""
    (w / "home").mkdir()
    proc = subprocess.run(nskit.ns_command(w / "ns", script), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    read = lambda name: (w / name).read_text()  # noqa: E731
    assert read("install.rc").strip() == "0", read("install.log")
    assert read("status.installed") == "install ok installed"
    before, installed = set(read("before.list").split()), set(read("installed.list").split())
    added = installed - before
    for path in ("/opt/rootsentinel/rootsentinel-host/rootsentinel-host", "/usr/bin/rootsentinel",
                 "/usr/lib/mozilla/native-messaging-hosts/io.rootsentinel.host.json",
                 "/etc/opt/chrome/native-messaging-hosts/io.rootsentinel.host.json",
                 "/etc/chromium/native-messaging-hosts/io.rootsentinel.host.json",
                 "/etc/opt/edge/native-messaging-hosts/io.rootsentinel.host.json",
                 "/usr/lib/systemd/system/rootsentinel-scan.timer", "/usr/lib/systemd/system/rootsentinel-heartbeat.timer",
                 "/etc/systemd/system/timers.target.wants/rootsentinel-scan.timer",
                 "/etc/systemd/system/timers.target.wants/rootsentinel-heartbeat.timer",
                 "/etc/logrotate.d/rootsentinel", "/var/lib/rootsentinel", "/var/log/rootsentinel"):
        assert path in added, path
    assert "/usr/share/man/man1/rootsentinel.1.gz" in read("contents.list").split()
    assert read("doctor.rc").strip() == "0", read("doctor.out")
    assert "host answered hello" in read("doctor.out")
    assert read("remove.rc").strip() == "0", read("remove.log")
    removed = set(read("removed.list").split())
    assert before <= removed, before - removed  # nothing that was there before is gone (/etc/opt)
    assert removed - before == {"/etc/logrotate.d/rootsentinel", "/var/lib/rootsentinel",
                                "/var/lib/rootsentinel/preexisting-dirs", "/var/log/rootsentinel"}
    assert read("purge.rc").strip() == "0", read("purge.log")
    assert set(read("purged.list").split()) == before
    assert "no packages found" in read("status.purged") or read("status.purged").startswith("unknown ok not-installed")
    # nothing the package wrote is left in the overlays but dpkg's own records and log
    leftovers = [p for p in nskit.upper_files(w / "ns") if not p.startswith(("/var/lib/dpkg/", "/var/log/", "/var/cache/"))]
    assert leftovers == [], leftovers


def test_deb_manifests_allow_the_crx_id(packages, tmp_path):
    crx_id = packages["id"]
    subprocess.run(["dpkg-deb", "-x", str(packages["deb"]), str(tmp_path)], check=True)
    for rel in ("etc/opt/chrome", "etc/chromium", "etc/opt/edge"):
        doc = json.loads((tmp_path / rel / "native-messaging-hosts" / "io.rootsentinel.host.json").read_text())
        assert f"chrome-extension://{crx_id}/" in doc["allowed_origins"]
        assert doc["path"] == "/opt/rootsentinel/rootsentinel-host/rootsentinel-host"
    ff = json.loads((tmp_path / "usr/lib/mozilla/native-messaging-hosts/io.rootsentinel.host.json").read_text())
    assert ff["allowed_extensions"] == ["rootsentinel@rootsentinel.io"]
    info = subprocess.run(["dpkg-deb", "-f", str(packages["deb"]), "Package", "Version", "Architecture"],
                          capture_output=True, text=True, check=True).stdout
    assert "Package: rootsentinel" in info and "Architecture: amd64" in info
