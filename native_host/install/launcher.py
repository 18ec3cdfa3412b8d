"""The launcher: a tiny script the host manifest names, because a manifest cannot pass arguments.

Browsers start the manifest's ``path`` with their own arguments only (Firefox: manifest path and
add-on id; Chrome: the ``chrome-extension://<id>/`` origin; MDN Native_messaging, Chrome doc), so
``rootsentinel host`` cannot be named directly. The launcher runs
``<python> -m native_host host "$@"`` (or ``<frozen exe> host``); a PyInstaller bundle given with
``--host-path`` needs no launcher.

POSIX shape::

    #!/bin/sh
    # RootSentinel native messaging host launcher (written by `rootsentinel install`).
    exec '/usr/bin/python3' -m native_host host "$@"

Windows shape (``.bat``; Chrome starts hosts through ``cmd.exe``, Firefox through CreateProcess,
which runs batch files: chromium ``native_process_launcher_win.cc``, MDN Native_manifests)::

    @echo off
    rem RootSentinel native messaging host launcher (written by `rootsentinel install`).
    "C:\\Python311\\python.exe" -m native_host host %*
"""

from __future__ import annotations

import shlex
import site
import sys
from pathlib import Path

import native_host
from native_host.install.model import InstallError

MARKER = "RootSentinel native messaging host launcher (written by `rootsentinel install`)."
"""The comment line that identifies a launcher this installer wrote (uninstall removes only those)."""


def _package_parent() -> str | None:
    """The directory holding ``native_host`` if the interpreter would not find it from elsewhere.

    A source checkout run without ``pip install`` imports ``native_host`` from the current
    directory only; browsers start the host with another working directory, so the launcher then
    sets ``PYTHONPATH``. Installed packages (site-packages) need nothing.
    """
    parent = str(Path(native_host.__file__).resolve().parent.parent)
    known = set(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    known.add(site.getusersitepackages() if hasattr(site, "getusersitepackages") else "")
    resolved = {str(Path(p).resolve()) for p in known if p}
    return None if parent in resolved else parent


def private_interpreter(python: str | None = None) -> str | None:
    """Why a launcher for ``python`` (default :data:`sys.executable`) suits one account only, or None.

    It does when the package is imported from a source checkout (the launcher then sets ``PYTHONPATH`` into
    it) or the interpreter belongs to a virtualenv (``sys.prefix != sys.base_prefix``): a system-wide host
    manifest would make every user's browser depend on that folder staying where it is and readable.
    A frozen bundle is self-contained: None.
    """
    if getattr(sys, "frozen", False) and python is None:
        return None
    checkout = _package_parent()
    if checkout:
        return f"it runs RootSentinel from the source checkout {checkout}"
    if python is None and sys.prefix != sys.base_prefix:
        return f"it runs the virtualenv Python {sys.executable}"
    return None


def launcher_script(target_os: str, python: str | None = None, frozen: bool | None = None,
                    pythonpath: str | None | bool = True) -> bytes:
    """Return the launcher's bytes for ``target_os``.

    Args:
        target_os: ``linux``, ``macos`` or ``windows``.
        python: the interpreter (or frozen executable) to run; default :data:`sys.executable`.
        frozen: True to run ``<python> host`` (a PyInstaller bundle); default ``sys.frozen``.
        pythonpath: a directory to put first on ``PYTHONPATH``; ``True`` (default) works it out,
            ``None``/``False`` adds none.

    Raises:
        InstallError: if no interpreter is known.
    """
    python = python or sys.executable
    if not python:
        raise InstallError("cannot tell which Python runs the host; pass --host-path")
    if frozen is None:
        frozen = bool(getattr(sys, "frozen", False))
    if pythonpath is True:
        pythonpath = None if frozen else _package_parent()
    args = "host" if frozen else "-m native_host host"
    if target_os == "windows":
        lines = ["@echo off", f"rem {MARKER}"]
        if pythonpath:
            lines.append(f'set "PYTHONPATH={pythonpath};%PYTHONPATH%"')
        lines.append(f'"{python}" {args} %*')
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")
    lines = ["#!/bin/sh", f"# {MARKER}"]
    if pythonpath:
        lines.append(f'PYTHONPATH={shlex.quote(pythonpath)}${{PYTHONPATH:+:"$PYTHONPATH"}}; export PYTHONPATH')
    lines.append(f'exec {shlex.quote(python)} {args} "$@"')
    return ("\n".join(lines) + "\n").encode("utf-8")


def is_our_launcher(data: bytes) -> bool:
    """True if ``data`` is a launcher this installer wrote (it carries :data:`MARKER`)."""
    return MARKER.encode() in data[:400]
