"""CPU time of a browser's processes, split into the browser, its extension process and the native host.

Read from /proc (Linux): every process below the browser's first process (by parent id), its
``utime + stime`` in clock ticks. The extension process is Chromium's renderer started with
``--extension-process`` (the service worker runs there) or Firefox's content process of remote type
``extension``; the host is a process whose command line names ``native_host`` (the Python host, its
wrapper or the frozen bundle). A process that started and ended between two snapshots is not counted
(page renderers live for the whole run here: one tab, same origin).
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime + stime in ticks) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _kind(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "browser"
    text = b" ".join(cmd)
    if b"native_host" in text or b"rootsentinel" in text.lower() and b"host" in text:
        return "host"
    if b"--extension-process" in text or (b"-contentproc" in text and cmd and b"extension" in cmd[-2:]):
        return "extension"
    return "browser"


def snapshot(root: int) -> dict[int, tuple[str, int]]:
    """{pid: (kind, cpu ticks)} for ``root`` and every process below it."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st:
                stats[int(entry)] = st
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            out[pid] = (_kind(pid), stats[pid][1])
            todo.extend(children.get(pid, []))
    return out


def cpu_ms(before: dict, after: dict) -> dict[str, float]:
    """CPU milliseconds per kind between two snapshots of the same tree."""
    total = {"browser": 0.0, "extension": 0.0, "host": 0.0}
    for pid, (kind, ticks) in after.items():
        start = before.get(pid, (kind, 0))[1]
        total[kind] += max(0, ticks - start) * 1000 / TICK
    return total
