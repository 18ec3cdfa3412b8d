"""Windows certificate stores: ``Root`` (Trusted Root Certification Authorities) and ``CA`` (Intermediate
Certification Authorities), machine (``LocalMachine``) and user (``CurrentUser``), read with PowerShell's
certificate provider.

Sources: Microsoft Learn "System Store Locations" (``CERT_SYSTEM_STORE_LOCAL_MACHINE`` /
``CERT_SYSTEM_STORE_CURRENT_USER``), "System Stores" (``ROOT``, ``CA``), and PowerShell
"about_Certificate_Provider" (``Cert:\\LocalMachine\\Root``; ``X509Certificate2.RawData`` is the DER).
``LocalMachine\\Root`` is a logical store: it includes the Group Policy and Enterprise physical stores,
so roots pushed by GPO or Intune are seen here. ``CurrentUser\\Root`` also shows every machine root (its
``.LocalMachine`` physical store): :func:`read` keeps under ``CurrentUser`` only what the machine store of
the same name does not hold, i.e. what the user added.

``certutil -store`` is not used: it prints SHA-1 hashes and names, not the DER needed for SHA-256
matching. One PowerShell run reads all four stores and prints one JSON array (``$out = @(...)`` and
``-InputObject`` keep it an array even for one item or none; piped, PowerShell 5.1 would print a bare
object for one item, and ``@($null)`` would print ``[null]`` for none)::

    [{"store":"LocalMachine\\Root","thumbprint":"<SHA-1 hex>","der":"<base64 DER>"},
     {"store":"CurrentUser\\CA","error":"<message>"}, ...]

Not run on a real Windows machine yet: :func:`parse_output` is tested on output in this format
(tests/fixtures/scan/windows-stores.json), the script itself is not.

Machine roots also include Microsoft's own legacy roots (code signing, timestamping) that are not in
Mozilla's store: the scan reports them as non-public; allow-list them in the system config if wanted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from native_host.scan.model import Installed, ScanContext, Store, StoreUnreadable

STORES = ("LocalMachine\\Root", "LocalMachine\\CA", "CurrentUser\\Root", "CurrentUser\\CA")

SCRIPT = r"""$ErrorActionPreference = 'Stop'
$out = @(foreach ($s in @('LocalMachine\Root', 'LocalMachine\CA', 'CurrentUser\Root', 'CurrentUser\CA')) {
  try {
    Get-ChildItem -Path "Cert:\$s" | ForEach-Object {
      [pscustomobject]@{ store = $s; thumbprint = $_.Thumbprint; der = [Convert]::ToBase64String($_.RawData) }
    }
  } catch {
    [pscustomobject]@{ store = $s; error = $_.Exception.Message }
  }
})
ConvertTo-Json -InputObject $out -Compress
"""
"""The PowerShell script (Windows PowerShell 5.1 and PowerShell 7 alike)."""


def command() -> list[str]:
    """``powershell.exe`` argv running :data:`SCRIPT` (``-EncodedCommand``: base64 of UTF-16LE, no quoting)."""
    encoded = base64.b64encode(SCRIPT.encode("utf-16-le")).decode("ascii")
    return ["powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
            "-EncodedCommand", encoded]


def _decode(output: bytes) -> str:
    if output.startswith((b"\xff\xfe", b"\xfe\xff")):
        return output.decode("utf-16")
    return output.decode("utf-8-sig", "replace")


def parse_output(output: bytes) -> dict[str, list[tuple[str, bytes]] | str]:
    """Parse the script's JSON: store name -> ``[(thumbprint, der), ...]``, or -> error message.

    Accepts a UTF-8 (with or without BOM) or UTF-16 document, CRLF line ends, a bare object instead of a
    one-item array, and empty output (no certificates at all).

    Raises:
        StoreUnreadable: not JSON, an item without ``store``, a ``der`` that is not base64, or a
            thumbprint that is not the SHA-1 of its DER (the output was mangled).
    """
    text = _decode(output).strip()
    if not text:
        return {}
    try:
        doc: Any = json.loads(text)
    except ValueError as exc:
        raise StoreUnreadable(f"PowerShell output is not JSON: {exc}") from exc
    items = doc if isinstance(doc, list) else [doc]
    result: dict[str, list[tuple[str, bytes]] | str] = {}
    for item in items:
        if item is None:  # "[null]": an empty result wrapped by an older script
            continue
        if not isinstance(item, dict) or not isinstance(item.get("store"), str):
            raise StoreUnreadable("PowerShell output: an item without a store name")
        store = item["store"]
        if "error" in item:
            result[store] = " ".join(str(item["error"]).split())[:300]
            continue
        try:
            der = base64.b64decode(item["der"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError) as exc:
            raise StoreUnreadable(f"PowerShell output: bad DER in {store}") from exc
        thumb = str(item.get("thumbprint") or "").lower()
        if thumb and thumb != hashlib.sha1(der).hexdigest():  # noqa: S324 - Windows names certs by SHA-1
            raise StoreUnreadable(f"PowerShell output: thumbprint {thumb} in {store} is not its certificate's")
        entries = result.setdefault(store, [])
        if isinstance(entries, list):
            entries.append((thumb.upper(), der))
    return result


def discover(ctx: ScanContext) -> list[Store]:
    """The four stores (they always exist on Windows)."""
    return [Store("windows", f"Cert:\\{name}", None, anchors=name.endswith("\\Root"),
                  owner="machine" if name.startswith("LocalMachine") else "user") for name in STORES]


def read(store: Store, ctx: ScanContext) -> list[Installed]:
    """The certificates of one store (PowerShell runs once per scan; the result is kept in ``ctx.cache``).

    Raises:
        ToolMissing: no ``powershell.exe``.
        StoreUnreadable: PowerShell failed, its output is malformed, or this store reported an error.
    """
    parsed = ctx.cache.get("windows")
    if parsed is None:
        parsed = parse_output(ctx.run(command()))
        ctx.cache["windows"] = parsed
    assert isinstance(parsed, dict)
    name = store.location.removeprefix("Cert:\\")
    entries = parsed.get(name, [])
    if isinstance(entries, str):
        raise StoreUnreadable(f"{store.location}: {entries}")
    if name.startswith("CurrentUser\\"):
        machine = parsed.get(name.replace("CurrentUser\\", "LocalMachine\\", 1), [])
        machine_thumbs = {t for t, _ in machine} if isinstance(machine, list) else set()
        entries = [(t, d) for t, d in entries if t not in machine_thumbs]
    return [Installed(der, store, thumb, anchor=store.anchors) for thumb, der in entries]
