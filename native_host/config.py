"""The host's system configuration: enterprise settings read from one file per OS.

Locations (one place decides; overridable with the ``ROOTSENTINEL_CONFIG`` environment variable):

- Linux: ``/etc/rootsentinel/config.json``
- macOS: ``/Library/Application Support/RootSentinel/config.json``
- Windows: ``%ProgramData%\\RootSentinel\\config.json``

The file has the JSON Schema ``native_host/schemas/config.schema.json`` (the same settings as the
extension's managed storage, ``extension/managed_schema.json``). A missing file means defaults; a broken
file is reported (``config_error`` in ``hello``, a line on stderr) and the safe defaults stay in force.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from native_host.blocklist import Blocklist
from native_host.errors import SchemaError
from native_host.verdict import Policy


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


@dataclass
class SystemConfig:
    """The loaded configuration.

    Attributes:
        settings: the validated settings object ({} for defaults).
        policy: the :class:`Policy` built from it.
        blocklist: an installed signed blocklist update to use instead of the bundled list, or None.
        error: one line when the file was present but unusable (defaults in force), else None.
        path: where it was looked for.
    """

    settings: dict[str, Any]
    policy: Policy
    blocklist: Blocklist | None
    error: str | None
    path: Path


def load_system_config(path: Path | None = None) -> SystemConfig:
    """Load and validate the system config; never raises for a bad file (see module doc)."""
    path = path or default_config_path()
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return SystemConfig({}, Policy(), None, None, path)
    except OSError as exc:
        return _broken(path, f"cannot read {path}: {exc.strerror}")
    from native_host.schemas import validate  # only when a file exists: keeps the host's start fast

    try:
        settings = json.loads(text)
        validate("config", settings)
    except ValueError as exc:
        return _broken(path, f"{path} is not JSON: {exc}")
    except SchemaError as exc:
        return _broken(path, f"{path}: {exc}")
    return SystemConfig(settings, Policy.from_json(settings), None, None, path)


def _broken(path: Path, error: str) -> SystemConfig:
    print(f"rootsentinel: config ignored, safe defaults in force: {error}", file=sys.stderr)
    return SystemConfig({}, Policy(), None, error, path)
