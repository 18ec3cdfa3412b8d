"""``install`` / ``uninstall`` / ``doctor`` as a new user runs them, in a home folder of their own (no
``--root``): install creates only what it needs, uninstall removes what install created (files and the
folders it made), and doctor skips the browsers that are not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from native_host.install.locations import current_os

pytestmark = pytest.mark.skipif(current_os() != "linux", reason="the user-scope folders asserted are Linux ones")


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) + ("/" if p.is_dir() else "") for p in root.rglob("*"))


@pytest.fixture
def home(tmp_path) -> Path:
    """A home with Firefox used once (a profile folder) and no other browser."""
    home = tmp_path / "alice"
    (home / ".mozilla/firefox/abcd.default-release").mkdir(parents=True)
    (home / ".bashrc").write_text("# keep me\n")
    return home


def rs(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), ROOTSENTINEL_CONFIG=str(home / "no-config.json"))
    return subprocess.run([sys.executable, "-m", "native_host", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_install_all_then_uninstall_all_leaves_the_home_as_it_was(home):
    before = _tree(home)
    out = rs(home, "install", "--browser", "all")
    assert out.returncode == 0, out.stderr
    assert (home / ".config/microsoft-edge/NativeMessagingHosts/io.rootsentinel.host.json").is_file()
    assert (home / ".local/share/rootsentinel/install-record.json").is_file()
    out = rs(home, "uninstall", "--browser", "all")
    assert out.returncode == 0, out.stderr
    assert _tree(home) == before  # no ~/.config/microsoft-edge, ~/.config/BraveSoftware, ~/.local/share/rootsentinel
    assert "removed  " + str(home / ".config/microsoft-edge") in out.stdout


def test_uninstall_of_one_browser_keeps_the_folders_another_still_uses(home):
    assert rs(home, "install", "--browser", "chrome", "--browser", "edge").returncode == 0
    out = rs(home, "uninstall", "--browser", "edge")
    assert out.returncode == 0, out.stderr
    assert not (home / ".config/microsoft-edge").exists()
    assert (home / ".config/google-chrome/NativeMessagingHosts/io.rootsentinel.host.json").is_file()
    assert rs(home, "uninstall", "--browser", "chrome").returncode == 0
    assert not (home / ".config").exists() and not (home / ".local").exists()
    assert (home / ".mozilla/firefox/abcd.default-release").is_dir()  # the browser's own folders stay


def test_doctor_skips_browsers_that_are_not_installed(home):
    assert rs(home, "install", "--browser", "all").returncode == 0
    assert rs(home, "uninstall", "--browser", "all").returncode == 0
    out = rs(home, "doctor")
    assert out.returncode == 3  # Firefox is used here and cannot reach the host
    lines = out.stdout.splitlines()
    for browser in ("chrome", "chromium", "edge", "brave"):
        (line,) = [ln for ln in lines if ln.startswith(f"- {browser}: ")]
        assert "not installed" in line
    assert any(ln.startswith("✗ firefox: ") for ln in lines)

    assert rs(home, "install", "--browser", "firefox").returncode == 0
    out = rs(home, "doctor")
    assert out.returncode == 0, out.stdout + out.stderr
    assert not [ln for ln in out.stdout.splitlines() if ln.startswith("✗")]
    assert "✓ firefox: host answered hello" in out.stdout


def test_system_scope_from_a_checkout_warns_and_names_the_bundled_host(home):
    out = rs(home, "install", "--browser", "firefox", "--scope", "system", "--dry-run")
    assert out.returncode == 0, out.stderr
    (warning,) = out.stderr.splitlines()
    assert warning.startswith("rootsentinel: warning: the system-wide launcher")
    assert "source checkout" in warning or "virtualenv" in warning
    assert "--host-path /opt/rootsentinel/rootsentinel-host" in warning and "make dist-host" in warning
    out = rs(home, "install", "--browser", "firefox", "--scope", "system", "--dry-run",
             "--host-path", "/opt/rootsentinel/rootsentinel-host")
    assert out.returncode == 0 and out.stderr == ""
    out = rs(home, "install", "--browser", "firefox", "--dry-run")  # user scope: this account's own Python is right
    assert out.returncode == 0 and out.stderr == ""
