"""The host's system configuration: enterprise settings read from one file per OS.

Locations (one place decides; overridable with the ``ROOTSENTINEL_CONFIG`` environment variable):

- Linux: ``/etc/rootsentinel/config.json``
- macOS: ``/Library/Application Support/RootSentinel/config.json``
- Windows: ``%ProgramData%\\RootSentinel\\config.json``

The file has the one settings schema, ``native_host/schemas/settings.schema.json`` (every key the extension's
managed settings have, with the same meaning, plus host-only keys; :mod:`native_host.schemas.settings`). A
missing file means defaults; a broken file is reported (``config_error`` in ``hello``, a line on stderr) and
the safe defaults stay in force.

What each shared key does in the host: ``probing: false`` stops every connection the host would open (probes
and AIA issuer fetches); ``audit`` turns audit events on or off; ``allow_user_acknowledge: false`` makes the
host ignore the roots a person acknowledged; ``mode``, ``notifications``, ``capture`` (and the other shared
keys) are told to the extension in the ``hello`` reply (``settings``, :meth:`SystemConfig.extension_settings`),
which applies them under its managed storage. The extension's managed settings win where both set a key:
``probing`` and ``audit`` arrive in ``hello``'s ``policy`` and override the file for that connection.

Signed blocklist updates (:mod:`native_host.enterprise.blocklist_update`) are installed into ``blocklist_dir``
(default: a ``blocklist`` folder beside the config file) and accepted only under ``blocklist_public_key``.
At every start :func:`load_system_config` checks the installed pair (signature, and the digest the installer
recorded); when anything is wrong the
bundled list is used and the reason is reported the same way as a broken config.

Audit events (:mod:`native_host.enterprise.audit`) are off unless ``"audit": true``; they go to ``audit_log``
(default per user and OS, :func:`default_audit_log_path`: the host runs as the browser's user) and, with
``"syslog": true``, to the local syslog socket.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from pathlib import Path
from typing import Any

from native_host.engine.blocklist import Blocklist
from native_host.errors import SchemaError
from native_host.engine.verdict import Policy


EXTENSION_KEYS = ("mode", "notifications", "capture", "allow_user_acknowledge")
"""Settings the extension applies, which the system config may set too (told in the ``hello`` reply)."""


def default_config_path(platform: str | None = None) -> Path:
    """The system config path for ``platform`` (``sys.platform`` values; default the running one)."""
    env = os.environ.get("ROOTSENTINEL_CONFIG")
    if env and platform is None:
        return Path(env)
    platform = platform or sys.platform
    if platform.startswith("win"):
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "RootSentinel" / "config.json"
    if platform == "darwin":
        return Path("/Library/Application Support/RootSentinel/config.json")
    return Path("/etc/rootsentinel/config.json")


def default_blocklist_dir(config_path: Path) -> Path:
    """Where signed blocklist updates are installed by default: ``blocklist/`` beside the config file."""
    return Path(config_path).parent / "blocklist"


def default_audit_log_path(platform: str | None = None) -> Path:
    """The default audit log, per user (the host runs as the browser's user, who cannot write /var/log):

    - Linux and other POSIX: ``$XDG_STATE_HOME/rootsentinel/audit.jsonl`` (``~/.local/state`` when unset,
      XDG Base Directory Specification 0.8);
    - macOS: ``~/Library/Logs/RootSentinel/audit.jsonl``;
    - Windows: ``%LOCALAPPDATA%\\RootSentinel\\audit.jsonl``.

    A fleet that collects one file per machine sets ``audit_log`` to a shared path instead (see
    :mod:`native_host.enterprise.audit`), or uses ``syslog``.
    """
    platform = platform or sys.platform
    home = Path.home()
    if platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "RootSentinel" / "audit.jsonl"
    if platform == "darwin":
        return home / "Library" / "Logs" / "RootSentinel" / "audit.jsonl"
    state = os.environ.get("XDG_STATE_HOME") or str(home / ".local" / "state")
    return Path(state) / "rootsentinel" / "audit.jsonl"


class SystemConfig:
    """The loaded configuration.

    Attributes:
        settings: the validated settings object ({} for defaults).
        policy: the :class:`Policy` built from it.
        blocklist: an installed signed blocklist update to use instead of the bundled list, or None.
        error: one line when the file was present but unusable (defaults in force), or when the installed
            blocklist update was rejected (bundled list in force); else None.
        path: where it was looked for.
    """

    __slots__ = ("settings", "policy", "blocklist", "error", "path")

    def __init__(self, settings: dict[str, Any], policy: Policy, blocklist: Blocklist | None, error: str | None,
                 path: Path) -> None:  # a plain class: importing dataclasses costs the host's start ~9 ms
        self.settings = settings
        self.policy = policy
        self.blocklist = blocklist
        self.error = error
        self.path = path

    @property
    def audit(self) -> bool:
        """Audit events on (``"audit": true``); off by default."""
        return bool(self.settings.get("audit", False))

    @property
    def probing(self) -> bool:
        """The host may connect out (probes, AIA fetches): ``"probing"``, default true."""
        return bool(self.settings.get("probing", True))

    @property
    def allow_user_acknowledge(self) -> bool:
        """Roots a person acknowledged are applied: ``"allow_user_acknowledge"``, default true."""
        return bool(self.settings.get("allow_user_acknowledge", True))

    def extension_settings(self) -> dict[str, Any]:
        """The extension-facing settings this file sets (``mode``, ``notifications``, ``capture``,
        ``allow_user_acknowledge``), for the ``hello`` reply; keys the file does not set are absent."""
        return {k: self.settings[k] for k in EXTENSION_KEYS if k in self.settings}

    @property
    def installed_roots(self) -> bool:
        """Banned verdicts say where the root is installed here (``installed_in``); on by default."""
        return bool(self.settings.get("installed_roots", True))

    @property
    def audit_log(self) -> Path:
        """The audit log file: ``audit_log`` (``~`` and environment variables expanded) or the per-OS default."""
        value = self.settings.get("audit_log")
        if value:
            return Path(os.path.expandvars(os.path.expanduser(value)))
        return default_audit_log_path()

    @property
    def blocklist_dir(self) -> Path:
        """Where signed blocklist updates are installed: ``blocklist_dir`` or :func:`default_blocklist_dir`."""
        value = self.settings.get("blocklist_dir")
        return Path(os.path.expanduser(value)) if value else default_blocklist_dir(self.path)


def load_system_config(path: Path | None = None) -> SystemConfig:
    """Load and validate the system config and the installed blocklist update; never raises for a bad file
    (see module doc)."""
    path = path or default_config_path()
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return SystemConfig({}, Policy(), None, None, path)
    except OSError as exc:
        return _broken(path, f"cannot read {path}: {exc.strerror}")
    try:
        settings = json.loads(text)
        from native_host.schemas import validate  # imported only when a config file exists

        validate("settings", settings)
        policy = Policy.from_json(settings)  # allow_roots_pem, banned[].pem: each one readable certificate
    except ValueError as exc:
        return _broken(path, f"{path} is not JSON: {exc}")
    except SchemaError as exc:
        return _broken(path, f"{path}: {exc}")
    config = SystemConfig(settings, policy, None, None, path)
    _load_blocklist_update(config)
    return config


def _load_blocklist_update(config: SystemConfig) -> None:
    """Set ``config.blocklist`` from a verified installed update, or ``config.error`` when it is rejected.

    Nothing is imported unless a key is pinned or an update is installed (the host's start stays fast).
    """
    key = config.settings.get("blocklist_public_key")
    directory = config.blocklist_dir
    if not (directory / "current").exists():  # blocklist_update.CURRENT_NAME: nothing installed
        if key:
            try:
                ok = len(base64.b64decode(key, validate=True)) == 32
            except (binascii.Error, ValueError):
                ok = False
            if not ok:
                _report(config, "blocklist_public_key is not base64 of a 32-byte Ed25519 key: no update can be accepted")
        return
    from native_host.enterprise.blocklist_update import UpdateRejected, load_installed, parse_public_key

    try:
        config.blocklist = load_installed(directory, parse_public_key(key))
    except UpdateRejected as exc:
        _report(config, f"installed blocklist update in {directory} rejected, bundled list in force: {exc}")


def _report(config: SystemConfig, error: str) -> None:
    sys.stderr.write(f"rootsentinel: {error}\n")
    config.error = error


def _broken(path: Path, error: str) -> SystemConfig:
    print(f"rootsentinel: config ignored, safe defaults in force: {error}", file=sys.stderr)
    return SystemConfig({}, Policy(), None, error, path)
