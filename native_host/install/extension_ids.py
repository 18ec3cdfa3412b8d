"""Extension ids the host manifests allow, and how a Chromium extension id is derived.

A Chromium extension id is the first 32 hex digits of SHA-256 over the DER SubjectPublicKeyInfo of
the extension's key, with each hex digit 0-f mapped to a letter a-p. An unpacked extension whose
``manifest.json`` carries a ``key`` gets the id of that key, so every developer and CI machine loads
the same id; the Web Store signs with its own key, so the store id is different and both have to be
listed in ``allowed_origins`` (wildcards are not allowed there).

Sources: Chrome "Manifest - key" (https://developer.chrome.com/docs/extensions/reference/manifest/key);
chromium ``components/crx_file/id_util.cc`` (``GenerateId``: SHA-256, first 16 bytes, hex mapped to
``a``-``p``); docs/reference/browser-apis.md section 4.2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from native_host import FIREFOX_EXTENSION_ID

CHROMIUM_UNPACKED_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxmNkUW0zZcAR6dhd1wWem2E5pvsDZQbX4gwoqDEGCs+IWehRgPeK"
    "QuVQDswfCMmMnNlSr8sHGzqnKqV3r/WesTe3PqpvFcTwW/xunUqgCU9bSYb+iJxLvzvQ0xujRSJEhVz+GC9Xud2PEgMgfX4p"
    "wB6/QDXY+Ga6CBivCjl7RydGikEIbUOFUJM2qWgIPYByHDXL9pKpmzkP0R45zVOUsaccILegP6zFJk8OuaNa4DXb1qiitr4a"
    "QqGuEVCpLyLCP4GbDk8vP2YZ1Vc6UJqBxs3QblekHtZEDCshBvsqiIeWv2+AUaNzvFRn9qkgXN0jlqPLYs7IXn2776hrkQmd"
    "GwIDAQAB"
)
"""The public ``key`` (base64 DER SPKI, RSA 2048) of the Chromium build's ``manifest.json``.

Public on purpose: it only fixes the unpacked id. The private half was not kept, so nobody can sign a
CRX with this id; a store or self-hosted build gets its own id (see :data:`CHROMIUM_STORE_ID_PLACEHOLDER`).
"""

CHROMIUM_UNPACKED_ID = "bnfgaaecgknnlipoadgbeaekapoomain"
"""``chromium_extension_id(CHROMIUM_UNPACKED_KEY)``; a test keeps the two in step."""

CHROMIUM_STORE_ID_PLACEHOLDER = "a" * 32
"""PLACEHOLDER, not a real store id: replace it with ``--extension-id`` once the extension is published.

All ``a`` means a SHA-256 starting with 128 zero bits, which no key can be found for, so listing the
placeholder in ``allowed_origins`` admits no extension.
"""

KNOWN_CHROMIUM_EXTENSION_IDS: tuple[str, ...] = (CHROMIUM_UNPACKED_ID, CHROMIUM_STORE_ID_PLACEHOLDER)
"""Default ids for ``allowed_origins``: the unpacked build's id and the store-id placeholder."""

KNOWN_FIREFOX_EXTENSION_IDS: tuple[str, ...] = (FIREFOX_EXTENSION_ID,)
"""Default ids for ``allowed_extensions`` (``browser_specific_settings.gecko.id``)."""

_CHROMIUM_ID = re.compile(r"^[a-p]{32}$")
# Gecko ids are an email-like string or a {GUID}: toolkit/mozapps/extensions/internal/XPIInstall.sys.mjs
_GECKO_ID = re.compile(
    r"^(\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}|[a-zA-Z0-9._+-]*@[a-zA-Z0-9._-]+)$"
)


def chromium_extension_id(public_key_b64: str) -> str:
    """Return the 32-letter Chromium extension id of a manifest ``key``.

    Args:
        public_key_b64: the ``key`` value of a Chromium ``manifest.json``: base64 of a DER
            SubjectPublicKeyInfo (whitespace is ignored).

    Returns:
        32 letters ``a``-``p``, e.g. ``"bnfgaaecgknnlipoadgbeaekapoomain"``.

    Raises:
        ValueError: if the key is not valid base64 or decodes to nothing.
    """
    try:
        der = base64.b64decode("".join(public_key_b64.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"extension key is not base64: {exc}") from None
    if not der:
        raise ValueError("extension key is empty")
    digest = hashlib.sha256(der).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def is_chromium_extension_id(value: str) -> bool:
    """True for a well-formed Chromium extension id (32 letters ``a``-``p``)."""
    return bool(_CHROMIUM_ID.match(value))


def is_firefox_extension_id(value: str) -> bool:
    """True for a well-formed Gecko add-on id (``name@domain`` or ``{GUID}``)."""
    return bool(_GECKO_ID.match(value))


def chromium_origin(extension_id: str) -> str:
    """Return the exact ``allowed_origins`` entry for an id: ``chrome-extension://<id>/``.

    The trailing slash is required; without it Chrome fails with "Failed to parse pattern"
    (samhh/bukubrow-webext#2, docs/reference/field-reports.md A5).

    Raises:
        ValueError: if ``extension_id`` is not 32 letters ``a``-``p``.
    """
    if not is_chromium_extension_id(extension_id):
        raise ValueError(f"not a Chromium extension id (32 letters a-p): {extension_id!r}")
    return f"chrome-extension://{extension_id}/"


def split_extension_ids(ids: list[str] | tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Sort user-given ids into ``(firefox_ids, chromium_ids)`` by their shape.

    Raises:
        ValueError: for an id that is neither a Chromium id nor a Gecko id.
    """
    firefox: list[str] = []
    chromium: list[str] = []
    for value in ids:
        if is_chromium_extension_id(value):
            chromium.append(value)
        elif is_firefox_extension_id(value):
            firefox.append(value)
        else:
            raise ValueError(
                f"unrecognised extension id {value!r}: expected 32 letters a-p (Chromium) "
                "or name@domain / {GUID} (Firefox)"
            )
    return firefox, chromium


def resolve_extension_ids(given: list[str] | tuple[str, ...] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return ``(firefox_ids, chromium_ids)`` for the manifests from ``--extension-id`` values.

    Firefox: the given Gecko ids replace :data:`KNOWN_FIREFOX_EXTENSION_IDS`. Chromium: the unpacked
    id is always kept (developers and CI load it) and the given ids replace the store placeholder.

    Raises:
        ValueError: for a malformed id (see :func:`split_extension_ids`).
    """
    firefox, chromium = split_extension_ids(given)
    firefox_ids = tuple(dict.fromkeys(firefox)) or KNOWN_FIREFOX_EXTENSION_IDS
    if chromium:
        chromium_ids = tuple(dict.fromkeys([CHROMIUM_UNPACKED_ID, *chromium]))
    else:
        chromium_ids = KNOWN_CHROMIUM_EXTENSION_IDS
    return firefox_ids, chromium_ids
