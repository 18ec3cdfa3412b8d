"""Windows registry keys that point a browser at its host manifest: ``.reg`` files and ``winreg``.

A browser on Windows finds the manifest through the *default value* of
``<hive>\\...\\NativeMessagingHosts\\io.rootsentinel.host``. On Windows the installer writes the key
with :mod:`winreg`; anywhere else (tests, packaging on Linux) it writes the same key as a ``.reg``
file that ``reg import`` or an MSI can apply.

``.reg`` format (what ``regedit /e`` exports): first line ``Windows Registry Editor Version 5.00``,
blank line, ``[<full key>]``, ``@="<value>"`` with ``\\`` and ``"`` escaped by a backslash, CRLF line
ends, UTF-16LE with a byte-order mark. Source: Microsoft Learn "How to add, modify, or delete
registry subkeys and values by using a .reg file" (support article 310516).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REG_HEADER = "Windows Registry Editor Version 5.00"


@dataclass(frozen=True)
class RegistryValue:
    """A key and its default (``@``) string value, e.g. the manifest path for one browser."""

    key: str
    value: str


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def render_reg(entries: list[RegistryValue]) -> bytes:
    """Render keys with default string values as a ``.reg`` file (UTF-16LE with BOM, CRLF).

    Raises:
        ValueError: if a key or value contains a line break (it could inject further keys).
    """
    lines = [REG_HEADER, ""]
    for entry in entries:
        if any(c in entry.key + entry.value for c in "\r\n"):
            raise ValueError("registry key or value contains a line break")
        lines += [f"[{entry.key}]", f'@="{_escape(entry.value)}"', ""]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-16-le")


def decode_reg(data: bytes) -> str:
    """Decode a ``.reg`` file: UTF-16 with BOM (version 5.00) or ASCII/UTF-8 (``REGEDIT4``)."""
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return data.decode("utf-16")
    return data.decode("utf-8-sig", errors="replace")


def parse_reg(data: bytes) -> list[RegistryValue]:
    """Read the default string values from a ``.reg`` file.

    Returns:
        ``[RegistryValue(key, value), ...]`` for every ``@="..."`` line, keyed by the section above it.

    Raises:
        ValueError: if the header is missing or an ``@=`` line is not a quoted string.
    """
    text = decode_reg(data)
    lines = text.splitlines()
    if not lines or lines[0].strip() not in (REG_HEADER, "REGEDIT4"):
        raise ValueError("not a .reg file: the first line is not 'Windows Registry Editor Version 5.00' or 'REGEDIT4'")
    out: list[RegistryValue] = []
    key = None
    for line in lines[1:]:
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            key = line[1:-1]
        elif line.startswith("@=") and key is not None:
            m = re.fullmatch(r'@="((?:[^"\\]|\\.)*)"', line)
            if not m:
                raise ValueError(f"default value of [{key}] is not a quoted string: {line}")
            out.append(RegistryValue(key, _unescape(m.group(1))))
    return out


def _split(key: str):  # pragma: no cover - Windows only
    import winreg

    hive_name, _, sub = key.partition("\\")
    hive = {"HKEY_CURRENT_USER": winreg.HKEY_CURRENT_USER, "HKEY_LOCAL_MACHINE": winreg.HKEY_LOCAL_MACHINE}[hive_name]
    return winreg, hive, sub


def read_default(key: str) -> str | None:  # pragma: no cover - Windows only
    """Read a key's default string value with :mod:`winreg`; ``None`` if the key does not exist."""
    winreg, hive, sub = _split(key)
    try:
        with winreg.OpenKey(hive, sub) as handle:
            value, _type = winreg.QueryValueEx(handle, "")
    except FileNotFoundError:
        return None
    return str(value)


def write_default(key: str, value: str) -> None:  # pragma: no cover - Windows only
    """Create ``key`` and set its default value to ``value`` (``REG_SZ``) with :mod:`winreg`."""
    winreg, hive, sub = _split(key)
    with winreg.CreateKey(hive, sub) as handle:
        winreg.SetValueEx(handle, "", 0, winreg.REG_SZ, value)


def delete_key(key: str) -> None:  # pragma: no cover - Windows only
    """Delete ``key`` (which has no subkeys) with :mod:`winreg`; a missing key is fine."""
    winreg, hive, sub = _split(key)
    try:
        winreg.DeleteKey(hive, sub)
    except FileNotFoundError:
        pass
