"""Per-user telemetry state beside the user's audit file: the drop log and the browsers seen.

Both live in the user's state folder (:func:`state_dir`: ``$XDG_STATE_HOME/rootsentinel``, else
``~/.local/state/rootsentinel``; macOS ``~/Library/Logs/RootSentinel``; Windows
``%LOCALAPPDATA%\\RootSentinel``), mode 0700, files 0600, never followed through a symbolic link.

- ``audit-drops.jsonl``: one JSON line per drop episode, ``{"time", "pid", "destination", "dropped",
  "reason"}``: audit events a destination did not take (locked file, full syslog queue, unreachable
  collector, refused file). Appended with one ``O_APPEND`` write of a short line (no lock), at most once a
  second per destination while drops go on, and when the process ends. ``doctor`` and the heartbeat
  read it (:func:`drop_summary`).
- ``clients.json``: the browsers and profiles that started a host (``hello``), with first and last time
  seen, at most 64 (the least recently seen go first); for the heartbeat's inventory.

Readers treat the files as untrusted (another process of the user, or the user, may write anything):
bounded reads, lines that do not parse are skipped.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

DROP_LOG = "audit-drops.jsonl"
CLIENTS = "clients.json"
_READ_CAP = 1 << 20  # bytes read from the end of a state file
_MAX_CLIENTS = 64


def state_dir(platform: str | None = None, home: Path | None = None) -> Path:
    """The user's RootSentinel state folder (see the module doc); ``home`` reads another user's (then
    ``XDG_STATE_HOME`` is not consulted: it is this process's environment, not theirs)."""
    platform = platform or sys.platform
    base_home = home or Path.home()
    if platform.startswith("win"):
        local = os.environ.get("LOCALAPPDATA") if home is None else None
        return Path(local or base_home / "AppData" / "Local") / "RootSentinel"
    if platform == "darwin":
        return base_home / "Library" / "Logs" / "RootSentinel"
    xdg = os.environ.get("XDG_STATE_HOME") if home is None else None
    return Path(xdg or base_home / ".local" / "state") / "rootsentinel"


def _open_append(path: Path) -> int:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = (os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
             | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    return os.open(path, flags, 0o600)


def append_drop(folder: Path, destination: str, dropped: int, reason: str, when: float | None = None) -> bool:
    """Append one drop record; False when it could not be written (never raises)."""
    record = {"time": round(time.time() if when is None else when, 3), "pid": os.getpid(),
              "destination": destination[:300], "dropped": int(dropped), "reason": reason[:300]}
    from native_host.textsafe import dumps_json

    try:
        fd = _open_append(folder / DROP_LOG)
        try:
            os.write(fd, (dumps_json(record) + "\n").encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
        return True
    except OSError:
        return False


def _tail_lines(path: Path) -> list[str]:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return []
    try:
        size = os.fstat(fd).st_size
        if size > _READ_CAP:
            os.lseek(fd, size - _READ_CAP, os.SEEK_SET)
        data = os.read(fd, _READ_CAP)
    except OSError:
        return []
    finally:
        os.close(fd)
    lines = data.decode("utf-8", "replace").split("\n")
    return lines[1:] if size > _READ_CAP else lines


def drop_summary(folder: Path, since: float = 0.0) -> dict[str, Any]:
    """Drops recorded in ``folder``'s drop log at or after ``since`` (seconds since the epoch):
    ``{"dropped": total, "by_destination": {name: count}, "last_time": float | None, "last_reason": str | None}``.
    """
    total, by_dest, last_time, last_reason = 0, {}, None, None
    for line in _tail_lines(folder / DROP_LOG):
        try:
            rec = json.loads(line)
            when, count, dest = float(rec["time"]), int(rec["dropped"]), str(rec["destination"])[:300]
        except (ValueError, KeyError, TypeError):
            continue
        if when < since or count <= 0:
            continue
        total += count
        by_dest[dest] = by_dest.get(dest, 0) + count
        if last_time is None or when >= last_time:
            last_time, last_reason = when, str(rec.get("reason", ""))[:300]
    return {"dropped": total, "by_destination": by_dest, "last_time": last_time, "last_reason": last_reason}


def read_clients(folder: Path) -> list[dict[str, Any]]:
    """The browsers seen (``clients.json``), or [] when absent or unreadable."""
    lines = _tail_lines(folder / CLIENTS)
    try:
        data = json.loads("\n".join(lines))
    except ValueError:
        return []
    return [c for c in data if isinstance(c, dict)][:_MAX_CLIENTS] if isinstance(data, list) else []


def note_client(folder: Path, client: dict[str, Any], when: float | None = None) -> bool:
    """Record that ``client`` (``{"name", "extension_version", "profile", "executable"}``) started a host
    now; False when it could not be written (never raises). Replaced atomically; a race between two
    hosts starting at once loses one of the two updates, which the next start repeats."""
    from native_host.atomicfile import atomic_write

    now = round(time.time() if when is None else when, 3)
    key = (client.get("name"), client.get("profile"))
    clients = read_clients(folder)
    first = now
    for old in clients:
        if (old.get("name"), old.get("profile")) == key:
            first = old.get("first_seen", now)
    clients = [c for c in clients if (c.get("name"), c.get("profile")) != key]
    clients.append({**client, "first_seen": first, "last_seen": now})
    clients = sorted(clients, key=lambda c: c.get("last_seen") or 0)[-_MAX_CLIENTS:]
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if (folder / CLIENTS).is_symlink():
            return False
        atomic_write(folder / CLIENTS, json.dumps(clients, ensure_ascii=True).encode("ascii"), mode=0o600)
        return True
    except OSError:
        return False
