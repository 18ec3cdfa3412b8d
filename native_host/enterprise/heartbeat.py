"""The heartbeat: one inventory event per host install and run, so a fleet can tell a quiet machine from a
broken one (``rootsentinel heartbeat``, run by the ``rootsentinel-heartbeat.timer`` systemd unit).

The event (``event.kind`` ``state``, ``event.category`` ``["host"]`` (ECS: "host inventory or host
lifecycle events"), ``event.type`` ``["info"]``, ``event.action`` ``heartbeat``, ``event.dataset``
``rootsentinel.heartbeat``) carries ``agent.*`` (the install, :mod:`native_host.enterprise.identity`) and
``rootsentinel.heartbeat``:

- ``host_version``; ``blocklist`` {``version``, ``size``, ``sha256``, ``source`` ``bundled`` or
  ``update``}; ``catalogue_version``; ``config_error`` (when the system config was refused);
- ``browsers``: the browsers and profiles that started a host, per user, with the extension version each
  reported in ``hello`` and when it was first and last seen (the users' ``clients.json``,
  :mod:`native_host.enterprise.state`); ``extension_versions``: the distinct versions among them;
- ``scan``: the summary of a trust-store scan run now (``--scan``), else of the last ``scan --events``
  (``last-scan.json``): when, level, exit code, counts, stores, stores that could not be read;
- ``dropped``: audit events dropped since the previous heartbeat (the users' drop logs), in total and per
  destination, and the last reason;
- ``previous``: when the previous heartbeat ran (None the first time); ``users``: how many homes were read.

Run as root with ``--all-users`` it reads its own state folder and every home's
(``~/.local/state/rootsentinel``; read-only, never through a symbolic link, bounded); run as a user, that
user's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from native_host import __version__

STATE_FILE = "heartbeat.json"
LAST_SCAN = "last-scan.json"
"""The summary of the last ``scan --events`` run by this user (root's, for the timers), for the heartbeat."""


def scan_summary(report: dict[str, Any], when: float | None = None) -> dict[str, Any]:
    """The heartbeat's ``scan`` object from a ``scan --json`` report."""
    return {"time": _iso(time.time() if when is None else when), "level": report["level"],
            "exit_code": report["exit_code"], "counts": report["counts"], "stores": len(report["stores"]),
            "errors": sum(1 for s in report["stores"] if s.get("error"))}


def remember_scan(own_state: Path, report: dict[str, Any]) -> None:
    """Keep the summary of a scan for the next heartbeat (``last-scan.json``; never raises)."""
    from native_host.atomicfile import atomic_write

    try:
        own_state.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(own_state / LAST_SCAN, json.dumps(scan_summary(report)).encode("ascii"), mode=0o600)
    except OSError:
        pass


def last_scan(own_state: Path) -> dict[str, Any] | None:
    """The summary :func:`remember_scan` kept, or None."""
    try:
        data = json.loads((own_state / LAST_SCAN).read_text("utf-8")[:65536])
        return data if isinstance(data, dict) and "level" in data else None
    except (OSError, ValueError):
        return None


def _homes(all_users: bool) -> list[Path]:
    if not all_users:
        return [Path.home()]
    from native_host.scan.readers import context

    ctx, _ = context(all_users=True)
    return [Path(h) for h in ctx.homes]


def _state_dirs(all_users: bool, own_state: Path) -> list[tuple[str, Path]]:
    """``(user label, state folder)`` to read: this account's, and with ``all_users`` every home's. A home's
    folder that resolves outside that home (a symbolic link a user planted) is skipped: root never reads
    files a user points it at."""
    from native_host.enterprise.state import state_dir

    out = [(_user_label(Path.home()), own_state)]
    if all_users:
        for home in _homes(True):
            folder = state_dir(home=home)
            try:
                real, real_home = folder.resolve(), home.resolve()
            except OSError:
                continue
            if real != own_state.resolve() and real.is_relative_to(real_home):
                out.append((_user_label(home), folder))
    return out


def _user_label(home: Path) -> str:
    return home.name or str(home)


def previous_run(own_state: Path) -> float | None:
    """When the previous heartbeat ran (``heartbeat.json`` in this user's state folder), or None."""
    try:
        return float(json.loads((own_state / STATE_FILE).read_text("utf-8"))["time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def inventory(*, all_users: bool = False, scan: dict[str, Any] | None = None, config: Any = None,
              now: float | None = None, own_state: Path | None = None) -> dict[str, Any]:
    """The ``rootsentinel.heartbeat`` object (see the module doc).

    Args:
        all_users: read every home's state folder (root), else this user's.
        scan: a ``scan --json`` report to summarise, or None.
        config: the loaded :class:`~native_host.enterprise.config.SystemConfig` (blocklist, errors).
        now: seconds since the epoch; own_state: this user's state folder (default).
    """
    from native_host.engine.blocklist import bundled
    from native_host.enterprise.state import drop_summary, read_clients, state_dir

    own_state = own_state or state_dir()
    previous = previous_run(own_state)
    blocklist = (config.blocklist if config is not None and config.blocklist else None) or bundled()
    browsers, dropped, by_dest, last_reason, last_time, users = [], 0, {}, None, None, 0
    for user, folder in _state_dirs(all_users, own_state):
        if not folder.is_dir():
            continue
        users += 1
        for client in read_clients(folder):
            browsers.append({"user": user[:64], **{k: (str(v)[:1024] if v is not None else None) for k, v in client.items()
                                                   if k in ("name", "extension_version", "profile", "executable")},
                             "first_seen": _num(client.get("first_seen")), "last_seen": _num(client.get("last_seen"))})
        summary = drop_summary(folder, since=previous or 0.0)
        dropped += summary["dropped"]
        for dest, count in summary["by_destination"].items():
            by_dest[f"{user[:64]} {dest}"] = by_dest.get(f"{user[:64]} {dest}", 0) + count
        if summary["last_time"] is not None and (last_time is None or summary["last_time"] > last_time):
            last_time, last_reason = summary["last_time"], summary["last_reason"]
    out: dict[str, Any] = {
        "host_version": __version__,
        "blocklist": {**blocklist.summary(), "source": "update" if config is not None and config.blocklist else "bundled"},
        "catalogue_version": _catalogue_version(),
        "config_error": getattr(config, "error", None),
        "browsers": browsers[:256],
        "extension_versions": sorted({b["extension_version"] for b in browsers if b.get("extension_version")}),
        "dropped": {"events": dropped, "by_destination": [{"destination": k, "events": v} for k, v in by_dest.items()],
                    "last_reason": last_reason},
        "previous": _iso(previous) if previous else None,
        "users": users,
    }
    summary = scan_summary(scan, now) if scan is not None else last_scan(own_state)
    if summary is not None:
        out["scan"] = summary
    return out


def heartbeat_event(inv: dict[str, Any], *, timestamp: float | None = None) -> dict[str, Any]:
    """The ECS heartbeat event around an :func:`inventory` (see the module doc)."""
    from native_host.enterprise.ecs import ECS_VERSION, _drop_none, event_id

    when = time.time() if timestamp is None else timestamp
    scan = inv.get("scan") or {}
    dropped = inv["dropped"]["events"]
    parts = [f"RootSentinel {inv['host_version']}", f"blocklist {inv['blocklist']['version']}",
             f"{len(inv['browsers'])} browser profile(s)"]
    if scan:
        parts.append(f"scan {scan['level']}")
    if dropped:
        parts.append(f"{dropped} audit event(s) dropped since the previous heartbeat")
    return _drop_none({
        "@timestamp": _iso(when), "message": "heartbeat: " + ", ".join(parts),
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "state", "category": ["host"], "type": ["info"], "action": "heartbeat",
                  "dataset": "rootsentinel.heartbeat", "module": "rootsentinel", "id": event_id()},
        "log": {"level": "warning" if dropped or scan.get("level") == "banned" else "info"},
        "observer": {"product": "RootSentinel", "vendor": "RootSentinel", "version": __version__},
        "rootsentinel": {"heartbeat": inv},
    })


def remember_run(own_state: Path, when: float) -> None:
    """Record this heartbeat's time (``heartbeat.json``), so the next one counts drops from here."""
    from native_host.atomicfile import atomic_write

    own_state.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(own_state / STATE_FILE, json.dumps({"time": when}).encode("ascii"), mode=0o600)


def _catalogue_version() -> str | None:
    try:
        from native_host.engine.catalogue import bundled

        return bundled().version
    except Exception:  # noqa: BLE001 - an inventory without it is still an inventory
        return None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _iso(ts: float) -> str:
    from native_host.enterprise.ecs import _iso as iso

    return iso(ts)
