"""Enterprise policies: force-install the extension, hand it managed settings, allow the host.

Outputs (printed by ``rootsentinel policy``):

- Firefox ``policies.json`` (``<install dir>/distribution/``, ``/etc/firefox/policies/`` on Linux)::

    {"policies": {
       "ExtensionSettings": {"rootsentinel@rootsentinel.io": {
           "installation_mode": "force_installed", "install_url": "<xpi url>"}},
       "3rdparty": {"Extensions": {"rootsentinel@rootsentinel.io": {<managed settings>}}}}}

  Source: mozilla/policy-templates docs (``ExtensionSettings``, ``3rdparty``), https://mozilla.github.io/policy-templates/;
  ``3rdparty`` values reach ``browser.storage.managed`` (Firefox 68).

- Chrome / Chromium / Edge JSON policy (Linux ``/etc/opt/chrome/policies/managed/``,
  ``/etc/chromium/policies/managed/``, ``/etc/opt/edge/policies/managed/``;
  the same names as registry values or plist keys on Windows/macOS)::

    {"ExtensionInstallForcelist": ["<id>;<update url>"],
     "NativeMessagingAllowlist": ["io.rootsentinel.host"],
     "3rdparty": {"extensions": {"<id>": {<managed settings>}}}}

  Source: https://chromeenterprise.google/policies/ (ExtensionInstallForcelist, NativeMessagingAllowlist);
  Chrome "storage.managed" (https://developer.chrome.com/docs/extensions/reference/manifest/storage);
  Microsoft Edge policy reference (same policy names).

Managed settings (the keys of ``native_host/schemas/settings.schema.json`` whose scope is ``both``; validated with
``jsonschema`` against :func:`native_host.schemas.settings.managed_validation_schema`)::

    {"mode": "warn" | "enforce", "allow_spki_sha256": ["<64 hex>", ...],
     "allow_roots_pem": ["-----BEGIN CERTIFICATE-----...", ...],   # one root certificate each
     "banned": [{"spki_sha256": "<64 hex>", "reason": "..."} | {"cert_sha256": "<64 hex>", "reason": "..."}
                | {"pem": "-----BEGIN CERTIFICATE-----...", "reason": "..."}],
     "notifications": bool, "probing": bool, "audit": bool,
     "allow_user_acknowledge": bool,    # false: no "I know this root" (extension/src/core/acknowledged.js)
     "capture": "probe" | "debugger"}   # Chromium family only (extension/src/chromium/capture.js)
"""

from __future__ import annotations

import re

from native_host import FIREFOX_EXTENSION_ID, HOST_NAME
from native_host.install.extension_ids import CHROMIUM_STORE_ID_PLACEHOLDER, is_chromium_extension_id
from native_host.install.model import InstallError

from native_host.schemas.settings import chrome_managed_schema, managed_validation_schema

MANAGED_SCHEMA: dict = chrome_managed_schema()
"""The managed-storage schema in Chrome's ``managed_schema`` dialect, generated from the one settings schema
(``native_host/schemas/settings.schema.json``, :mod:`native_host.schemas.settings`);
``extension/managed_schema.json`` is the same object, written by ``build/make_managed_schema.py``."""

DEFAULT_SETTINGS: dict = {
    "mode": "warn",
    "allow_spki_sha256": [],
    "banned": [],
    "notifications": True,
    "probing": True,
    "audit": True,
}

XPI_URL_PLACEHOLDER = "https://rootsentinel.example/download/rootsentinel-latest.xpi"
"""PLACEHOLDER: where the signed XPI will be published; pass ``--xpi-url``."""

UPDATE_URLS = {
    "chrome": "https://clients2.google.com/service/update2/crx",
    "chromium": "https://clients2.google.com/service/update2/crx",
    "edge": "https://edge.microsoft.com/extensionwebstorebase/v1/crx",
    "brave": "https://clients2.google.com/service/update2/crx",
}
"""The stores' update URLs (Chrome Web Store, which Chromium's ExtensionInstallForcelist also defaults to;
Microsoft Edge Add-ons; Brave installs from the Chrome Web Store), used for store-hosted ids."""

POLICY_BROWSERS = ("firefox", "chrome", "chromium", "edge", "brave")
"""Browsers ``rootsentinel policy`` writes a policy for."""

CAPTURE_MODES = ("probe", "debugger")
"""The Chromium family's ``capture`` managed setting (``extension/managed_schema.json``)."""


MAX_ALLOW_ROOTS_PEM: int = managed_validation_schema()["properties"]["allow_roots_pem"]["maxItems"]
"""``allow_roots_pem`` items at most (its ``maxItems`` in ``native_host/schemas/settings.schema.json``)."""


def _hex64(value: str, what: str) -> str:
    v = value.strip().lower().replace(":", "")
    if not re.fullmatch(r"[0-9a-f]{64}", v):
        raise InstallError(f"{what} must be 64 hex digits (SHA-256): {value!r}")
    return v


def managed_settings(
    *,
    mode: str = "warn",
    allow_spki_sha256: list[str] | tuple[str, ...] = (),
    allow_roots_pem: list[str] | tuple[str, ...] = (),
    banned: list[dict] | tuple[dict, ...] = (),
    notifications: bool = True,
    probing: bool = True,
    audit: bool = True,
    capture: str | None = None,
) -> dict:
    """Build the managed settings object, normalising fingerprints to lowercase hex.

    Args:
        mode: ``warn`` or ``enforce``.
        allow_spki_sha256: SPKI SHA-256 of company inspection roots (colons allowed, any case).
        allow_roots_pem: company inspection roots as certificates (PEM text, one root each): an inspection
            proxy does not send its root, so only the certificate lets a probe's path reach it.
        banned: ``[{"spki_sha256" or "cert_sha256": hex, or "pem": PEM text, "reason": str}]``.
        capture: the Chromium family's evidence source, ``probe`` or ``debugger`` (None: not set, the
            extension's default ``probe``).

    Raises:
        InstallError: bad mode or capture, malformed fingerprint, a PEM that is not exactly one readable
            certificate, or a banned entry without exactly one of ``spki_sha256`` / ``cert_sha256`` / ``pem``.
    """
    from native_host.engine.verdict import Policy
    from native_host.errors import SchemaError

    if mode not in ("warn", "enforce"):
        raise InstallError(f"mode must be warn or enforce, not {mode!r}")
    if capture is not None and capture not in CAPTURE_MODES:
        raise InstallError(f"capture must be probe or debugger, not {capture!r}")
    bans = []
    for entry in banned:
        keys = [k for k in ("spki_sha256", "cert_sha256", "pem") if entry.get(k)]
        if len(keys) != 1:
            raise InstallError("each banned entry needs exactly one of spki_sha256, cert_sha256 or pem")
        value = entry["pem"] if keys[0] == "pem" else _hex64(entry[keys[0]], keys[0])
        bans.append({keys[0]: value, "reason": str(entry.get("reason") or "banned by policy")})
    settings = {
        "mode": mode,
        "allow_spki_sha256": [_hex64(v, "allow_spki_sha256") for v in allow_spki_sha256],
        "banned": bans,
        "notifications": bool(notifications),
        "probing": bool(probing),
        "audit": bool(audit),
    }
    if allow_roots_pem:
        if len(allow_roots_pem) > MAX_ALLOW_ROOTS_PEM:
            raise InstallError(f"{len(allow_roots_pem)} inspection roots given as PEM; the managed schema takes at most "
                               f"{MAX_ALLOW_ROOTS_PEM}")
        settings["allow_roots_pem"] = list(allow_roots_pem)
    if capture is not None:
        settings["capture"] = capture
    validate_managed(settings)
    try:
        Policy.from_json(settings)  # the host's own reading: each PEM one readable certificate, at most MAX_ROOTS
    except SchemaError as exc:
        raise InstallError(str(exc)) from None
    return settings


def validate_managed(settings: dict) -> None:
    """Check managed settings against the one settings schema (managed keys only).

    Raises:
        InstallError: one line naming the first problem (a host-only key such as ``audit_log`` is refused:
            it belongs in the system config).
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(managed_validation_schema())
    for error in sorted(validator.iter_errors(settings), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "settings"
        message = error.message if len(error.message) <= 300 else error.message[:300] + "\u2026"
        raise InstallError(f"managed settings: {where}: {' '.join(message.split())}")


ESR_UNSIGNED_PREFERENCES = {"xpinstall.signatures.required": {"Value": False, "Status": "locked"}}
"""Firefox ``Preferences`` policy that lets ESR (also Developer Edition, Nightly) install the unsigned xpi: without
it a force-installed unsigned add-on fails with ``ERROR_SIGNEDSTATE_REQUIRED`` (issue 23). Release Firefox
ignores the preference: it needs the AMO-signed xpi."""


def firefox_policies(settings: dict, *, xpi_url: str = XPI_URL_PLACEHOLDER,
                     extension_id: str = FIREFOX_EXTENSION_ID, esr_unsigned: bool = False) -> dict:
    """A Firefox ``policies.json`` that force-installs the extension and passes ``settings``.

    Args:
        esr_unsigned: also set :data:`ESR_UNSIGNED_PREFERENCES` (the xpi is the unsigned one, the fleet runs ESR).

    Raises:
        InstallError: if ``xpi_url`` is not ``https://`` or ``file://`` (Firefox installs from those).
    """
    if not re.match(r"^(https://|file:///)", xpi_url):
        raise InstallError(f"--xpi-url must start with https:// or file:///: {xpi_url!r}")
    policies: dict = {
        "ExtensionSettings": {
            extension_id: {"installation_mode": "force_installed", "install_url": xpi_url},
        },
        "3rdparty": {"Extensions": {extension_id: settings}},
    }
    if esr_unsigned:
        policies["Preferences"] = dict(ESR_UNSIGNED_PREFERENCES)
    return {"policies": policies}


def chromium_policies(browser: str, settings: dict, *, extension_id: str = CHROMIUM_STORE_ID_PLACEHOLDER,
                      update_url: str | None = None) -> dict:
    """A Chrome, Chromium or Edge JSON policy: force-install, managed settings, allow our native host.

    ``update_url`` may be ``http://``: Chromium fetches an update manifest and CRX over plain http (an intranet
    server); :func:`update_url_warning` says what that risks.

    Raises:
        InstallError: unknown browser, malformed id, or an update URL that is not http(s).
    """
    if browser not in UPDATE_URLS:
        raise InstallError(f"policies are for {', '.join(POLICY_BROWSERS)}, not {browser!r}")
    if not is_chromium_extension_id(extension_id):
        raise InstallError(f"not a Chromium extension id (32 letters a-p): {extension_id!r}")
    update_url = update_url or UPDATE_URLS[browser]
    if not re.match(r"^https?://[^/\s]+", update_url):
        raise InstallError(f"--update-url must be an https:// (or intranet http://) URL: {update_url!r}")
    return {
        "ExtensionInstallForcelist": [f"{extension_id};{update_url}"],
        "NativeMessagingAllowlist": [HOST_NAME],
        "3rdparty": {"extensions": {extension_id: settings}},
    }


def update_url_warning(update_url: str | None) -> str | None:
    """One line of warning for a plain ``http://`` update URL (None for https or the store's)."""
    if update_url and update_url.startswith("http://"):
        return ("the update URL is plain http: Chromium accepts it, but anyone on the path can withhold updates "
                "(the CRX signature still protects the content); serve it over https where you can")
    return None


def policy_for(browser: str, settings: dict, *, extension_id: str | None = None, xpi_url: str | None = None,
               update_url: str | None = None, esr_unsigned: bool = False) -> dict:
    """Dispatch to :func:`firefox_policies` or :func:`chromium_policies` by browser name."""
    if browser == "firefox":
        if "capture" in settings:
            raise InstallError("capture is a Chromium-family setting (Firefox reads the chain itself); "
                               "drop --capture for --browser firefox")
        return firefox_policies(settings, xpi_url=xpi_url or XPI_URL_PLACEHOLDER,
                                extension_id=extension_id or FIREFOX_EXTENSION_ID, esr_unsigned=esr_unsigned)
    return chromium_policies(browser, settings, extension_id=extension_id or CHROMIUM_STORE_ID_PLACEHOLDER,
                             update_url=update_url)


def decommission_policy(browser: str, *, extension_id: str | None = None) -> dict:
    """The policy that removes the extension from every profile of ``browser`` (fleet uninstall).

    - Firefox: ``ExtensionSettings`` ``installation_mode: blocked`` (removes it, and refuses reinstalls) and
      ``Extensions.Uninstall`` (mozilla/policy-templates ``Extensions``: "uninstall add-ons by id").
    - Chrome family: ``ExtensionSettings`` ``installation_mode: removed`` (Chrome "ExtensionSettings": the
      extension is uninstalled) and ``ExtensionInstallBlocklist``; no ``ExtensionInstallForcelist``.

    Raises:
        InstallError: unknown browser or malformed id.
    """
    if browser == "firefox":
        ext = extension_id or FIREFOX_EXTENSION_ID
        return {"policies": {"ExtensionSettings": {ext: {"installation_mode": "blocked"}},
                             "Extensions": {"Uninstall": [ext]}}}
    if browser not in UPDATE_URLS:
        raise InstallError(f"policies are for {', '.join(POLICY_BROWSERS)}, not {browser!r}")
    ext = extension_id or CHROMIUM_STORE_ID_PLACEHOLDER
    if not is_chromium_extension_id(ext):
        raise InstallError(f"not a Chromium extension id (32 letters a-p): {ext!r}")
    return {"ExtensionSettings": {ext: {"installation_mode": "removed"}}, "ExtensionInstallBlocklist": [ext]}
