"""Who produced an audit event: this host install (ECS ``agent.*``), the machine (``host.*``), the user
(``user.*``), and the browser and profile that started the host.

- ``agent.id`` is stable per host install: the text of ``agent-id`` beside the system config file when an
  installer wrote one (one line, at most 64 printable ASCII characters), else derived from the machine's
  id without revealing it, the way systemd's ``sd_id128_get_machine_app_specific()`` does
  (HMAC-SHA256 keyed with the machine id over :data:`APP_ID`, first 16 bytes, marked as a version-4 UUID;
  sd-id128(3)): on Linux from ``/etc/machine-id`` (``systemd-id128 machine-id --app-specific=APP_ID``
  prints the same value), on macOS from ``IOPlatformUUID``, on Windows from ``MachineGuid``. Several users
  of one machine share it; reinstalling does not change it.
- ``agent.ephemeral_id`` is random per host process (ECS: "changes across restarts"); with
  ``event.sequence`` (numbered per process) a collector sees a gap in a process's events.
- ``host.name`` is the host name in lowercase, ``host.hostname`` as the system gives it (what Beats
  report by default; an FQDN would need a DNS lookup on the host's start).
- The browser: the ``client`` of the ``hello`` message (``firefox/0.1.0``: the browser family and the
  extension's version) and, on Linux, the browser process that started the host (``/proc/PPID/exe``) and
  its profile folder: Firefox keeps its profile's ``.parentlock`` open for as long as it runs, Chromium
  names a non-default profile with ``--user-data-dir`` / ``--profile-directory``. Elsewhere the profile is
  not known and left out.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

APP_ID = "6c1f0d5e3b7a4f29a0e8d4c2b9f17a35"
"""RootSentinel's application id for app-specific machine ids (random, fixed forever)."""

_AGENT_ID_RE = re.compile(r"^[\x21-\x7e]{1,64}$")


def app_specific_id(machine_id: bytes, app_id: str = APP_ID) -> str:
    """sd_id128_get_machine_app_specific(): HMAC-SHA256(key=machine id, msg=app id), first 16 bytes with
    the UUID version 4 and variant bits set; 32 lowercase hex digits.

    Args:
        machine_id: the 16 raw bytes of the machine id.
        app_id: 32 hex digits.
    """
    digest = bytearray(hmac.new(machine_id, bytes.fromhex(app_id), hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return digest.hex()


def _machine_id() -> bytes | None:
    """16 raw bytes identifying this machine, or None."""
    if sys.platform.startswith("linux") or sys.platform.startswith("freebsd"):
        for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
            try:
                text = Path(path).read_text("ascii").strip()
                return bytes.fromhex(text) if len(text) == 32 else None
            except (OSError, ValueError):
                continue
        return None
    if sys.platform == "darwin":
        import subprocess

        try:
            out = subprocess.run(["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"], capture_output=True,
                                 text=True, timeout=2).stdout
            match = re.search(r'"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]{36})"', out)
            return uuid.UUID(match.group(1)).bytes if match else None
        except (OSError, ValueError, subprocess.SubprocessError):
            return None
    if sys.platform.startswith("win"):
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
                return uuid.UUID(winreg.QueryValueEx(key, "MachineGuid")[0]).bytes
        except (OSError, ValueError):
            return None
    return None


def agent_id(config_path: Path | None = None) -> str | None:
    """This install's ``agent.id`` (see the module doc), or None when neither source exists."""
    if config_path is not None:
        try:
            text = (Path(config_path).parent / "agent-id").read_text("ascii").strip()
            if _AGENT_ID_RE.match(text):
                return text
        except (OSError, UnicodeDecodeError):
            pass
    machine = _machine_id()
    return app_specific_id(machine) if machine else None


def host_names() -> tuple[str, str]:
    """``(host.name, host.hostname)``: the host name lowercased, and as the system gives it."""
    name = socket.gethostname()
    return name.lower(), name


def user_fields() -> dict[str, Any]:
    """ECS ``user.name`` (the login name, when known) and ``user.id`` (the numeric uid on POSIX)."""
    out: dict[str, Any] = {}
    try:
        import getpass

        out["name"] = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not an error (containers, services)
        pass
    if hasattr(os, "geteuid"):
        out["id"] = str(os.geteuid())
    return out


def parse_client(client: Any) -> dict[str, Any] | None:
    """The ``client`` of ``hello`` (``firefox/0.1.0``) as ``{"name", "extension_version", "original"}``
    (each at most 64 printable characters); None when absent or not a string."""
    if not isinstance(client, str) or not client:
        return None
    clean = "".join(c for c in client if c.isprintable())[:200]
    name, _, version = clean.partition("/")
    return {"name": name[:64].lower() or None, "extension_version": version[:64] or None, "original": clean}


def browser_process(ppid: int | None = None, proc: Path = Path("/proc")) -> dict[str, Any]:
    """The browser process that started this host, as far as this OS shows it: ``{"pid", "executable",
    "profile"}`` (Linux: read from ``/proc``; elsewhere only the pid). Never raises.

    Args:
        ppid: the parent's pid (default ``os.getppid()``).
        proc: the proc filesystem (tests pass a fake tree).
    """
    ppid = os.getppid() if ppid is None else ppid
    out: dict[str, Any] = {"pid": ppid, "executable": None, "profile": None}
    base = proc / str(ppid)
    if not base.is_dir():
        return out
    try:
        out["executable"] = os.readlink(base / "exe")[:1024]
    except OSError:
        pass
    try:
        args = (base / "cmdline").read_bytes()[:65536].split(b"\0")
    except OSError:
        args = []
    out["profile"] = _profile_from_args([a.decode("utf-8", "replace") for a in args]) or _firefox_profile(base)
    return out


def _profile_from_args(args: list[str]) -> str | None:
    """A profile named on the browser's command line: Firefox ``-profile DIR`` / ``--profile DIR``,
    Chromium ``--user-data-dir=DIR`` (plus ``--profile-directory=NAME``)."""
    udd = profile_dir = None
    for i, arg in enumerate(args):
        if arg in ("-profile", "--profile") and i + 1 < len(args):
            return args[i + 1][:1024]
        if arg.startswith("--user-data-dir="):
            udd = arg.split("=", 1)[1]
        elif arg.startswith("--profile-directory="):
            profile_dir = arg.split("=", 1)[1]
    if udd:
        return (os.path.join(udd, profile_dir) if profile_dir else udd)[:1024]
    return None


def _firefox_profile(base: Path) -> str | None:
    """The folder of a ``.parentlock`` the process holds open (Firefox's running profile)."""
    try:
        fds = os.listdir(base / "fd")
    except OSError:
        return None
    for fd in fds[:4096]:
        try:
            target = os.readlink(base / "fd" / fd)
        except OSError:
            continue
        if target.endswith("/.parentlock"):
            return target[: -len("/.parentlock")][:1024]
    return None
