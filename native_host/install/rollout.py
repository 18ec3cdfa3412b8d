"""A whole Linux rollout from one settings file: system config, host manifests and every browser's policy.

``rootsentinel rollout settings.json --out DIR --extension-id ID --update-url URL --xpi-url URL`` writes, under
``DIR`` (laid out as the target's ``/``, like ``--root``)::

    etc/rootsentinel/config.json                              the settings file itself (the host reads it)
    usr/lib/mozilla/native-messaging-hosts/io.rootsentinel.host.json, etc/opt/chrome/native-messaging-hosts/…,
    etc/chromium/native-messaging-hosts/… (Chromium, Brave), etc/opt/edge/native-messaging-hosts/…
                                                              host manifests allowing ID and the Firefox id
    etc/opt/chrome/policies/managed/rootsentinel.json         Chrome      } force-install ID from URL, allow the
    etc/chromium/policies/managed/rootsentinel.json           Chromium    } host, managed settings (3rdparty)
    etc/opt/edge/policies/managed/rootsentinel.json           Edge        }
    etc/brave/policies/managed/rootsentinel.json              Brave       }
    etc/firefox/policies/policies.json                        Firefox (and Debian's firefox-esr): force-install
                                                              the xpi, managed settings (+ the ESR signature pref)

The settings file is the system config (``/etc/rootsentinel/config.json``), validated by
:func:`native_host.enterprise.config.load_system_config` (the schema the host itself applies). The extension's
managed settings are the keys of it that the managed schema (:data:`native_host.install.policy.MANAGED_SCHEMA`)
knows, so the host and the extension are given one copy of each setting, never two that could drift.
``capture`` (Chromium family only) is left out of Firefox's policy.

``decommission=True`` writes only the policies that remove the extension everywhere
(:func:`native_host.install.policy.decommission_policy`); the host goes with ``apt purge rootsentinel``.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from native_host import FIREFOX_EXTENSION_ID
from native_host.install.installer import install
from native_host.install.model import Environment, InstallError, under_root
from native_host.install.policy import MANAGED_SCHEMA, decommission_policy, policy_for

CHROMIUM_POLICY_DIRS = {
    "chrome": PurePosixPath("/etc/opt/chrome/policies/managed"),
    "chromium": PurePosixPath("/etc/chromium/policies/managed"),
    "edge": PurePosixPath("/etc/opt/edge/policies/managed"),
    "brave": PurePosixPath("/etc/brave/policies/managed"),
}
"""Where each Chromium-family browser reads mandatory JSON policies on Linux (chromium
``chrome/common/chrome_paths.cc`` ``DIR_POLICY_FILES``; Microsoft Edge and Brave Linux policy docs). Debian's
Chromium honours force-install policies only from ``/etc/chromium/policies/managed``."""

FIREFOX_POLICY_FILES = (PurePosixPath("/etc/firefox/policies/policies.json"),)
"""Where Firefox on Linux reads system policies: ``/etc/firefox/policies/policies.json``. Debian's ``firefox-esr``
153 reads this file too, and not ``/etc/firefox-esr/policies/`` (tried here: only the first installed the add-on);
the other place is ``distribution/policies.json`` in the install folder."""

POLICY_FILE_NAME = "rootsentinel.json"
CONFIG_PATH = PurePosixPath("/etc/rootsentinel/config.json")
DEFAULT_HOST_PATH = "/opt/rootsentinel/rootsentinel-host/rootsentinel-host"


@dataclass(frozen=True)
class Written:
    """One file the rollout wrote: its path under ``out`` and what it is."""

    path: Path
    what: str


def load_settings(path: Path) -> dict:
    """Read and validate a settings file as the host would read its system config.

    Raises:
        InstallError: unreadable, not JSON, or not valid under the config schema (one line).
    """
    from native_host.enterprise.config import load_system_config

    if not Path(path).is_file():
        raise InstallError(f"settings file {path} does not exist")
    with contextlib.redirect_stderr(io.StringIO()):  # its own "safe defaults in force" line is for the host
        config = load_system_config(Path(path))
    if config.error:
        raise InstallError(f"settings file: {config.error}")
    return dict(config.settings)


def managed_from(settings: dict, browser: str) -> dict:
    """The extension's managed settings for ``browser``: the keys of ``settings`` the managed schema knows."""
    known = MANAGED_SCHEMA.get("properties", {})
    managed = {k: v for k, v in settings.items() if k in known}
    if browser == "firefox":
        managed.pop("capture", None)
    return managed


def _write_json(out: Path, target: PurePosixPath, doc: dict, what: str, written: list[Written]) -> None:
    dest = under_root(out, target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    dest.chmod(0o644)
    written.append(Written(dest, what))


def write_rollout(settings_file: Path, out: Path, *, extension_id: str | None, update_url: str | None,
                  xpi_url: str | None, firefox_esr: bool = False, host_path: str = DEFAULT_HOST_PATH,
                  decommission: bool = False) -> list[Written]:
    """Write the rollout tree (module doc) under ``out``; returns what was written, in order.

    Args:
        extension_id: the Chromium-family id (of the CRX signing key); None: the store placeholder.
        update_url: the ``updates.xml`` URL (http allowed, see ``policy``); None: the store's.
        xpi_url: where Firefox fetches the xpi (``https://`` or ``file:///``).
        firefox_esr: lock ``xpinstall.signatures.required`` to false (the unsigned xpi on ESR).
        host_path: the host executable the manifests name (the Debian package's by default).

    Raises:
        InstallError: a bad settings file, id or URL.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Written] = []
    if decommission:
        for browser, folder in CHROMIUM_POLICY_DIRS.items():
            _write_json(out, folder / POLICY_FILE_NAME, decommission_policy(browser, extension_id=extension_id),
                        f"{browser} policy: remove the extension", written)
        for target in FIREFOX_POLICY_FILES:
            _write_json(out, target, decommission_policy("firefox"), "firefox policy: remove the extension", written)
        return written
    settings = load_settings(settings_file)
    docs = {b: policy_for(b, managed_from(settings, b), extension_id=extension_id, update_url=update_url)
            for b in CHROMIUM_POLICY_DIRS}
    firefox = policy_for("firefox", managed_from(settings, "firefox"), xpi_url=xpi_url, esr_unsigned=firefox_esr)
    _write_json(out, CONFIG_PATH, settings, "system config", written)
    ids = [extension_id] if extension_id else []
    for change in install(["all"], "system", "linux", Environment(home=PurePosixPath("/root")),
                          host_path=host_path, extension_ids=[*ids, FIREFOX_EXTENSION_ID], root=out):
        written.append(Written(Path(change.target), f"host manifest ({change.note})"))
    for browser, folder in CHROMIUM_POLICY_DIRS.items():
        _write_json(out, folder / POLICY_FILE_NAME, docs[browser], f"{browser} policy", written)
    for target in FIREFOX_POLICY_FILES:
        _write_json(out, target, firefox, "firefox policy" + (" (ESR: unsigned xpi allowed)" if firefox_esr else ""),
                    written)
    return written
