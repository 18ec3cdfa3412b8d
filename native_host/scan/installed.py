"""``installed_in`` on banned verdicts: where this machine has the banned root installed (issue 14, item 7),
and on the interception verdicts of probes that ask for it (issue 24, item 1).

The host runs the same trust-store readers as ``rootsentinel scan`` (:mod:`native_host.scan`), this user's
stores only, the first time a ``banned`` verdict needs them (or a probe request asks, ``installed_in: true``),
never for any other verdict. The scan runs on
a background thread; a verdict waits for it at most :data:`DEADLINE` seconds counted from when that scan
started (so a slow scan delays at most one verdict, and only by that much). A scan that has not finished
by then, or failed, leaves the verdict without the field; a failure is logged as one line on stderr. Its
result (or failure) is kept for :data:`TTL` seconds, so a root removed with the printed command stops
showing within that time. The scan's tool runs (PowerShell, ``security``, NSS ``certutil`` for a legacy database) are bounded by :data:`BUDGET` in all.

A verdict's root is looked up by fingerprint: the blocklist entry's ``cert_sha256`` / ``spki_sha256``
and, when the anchor was sent, the anchor row's (a ``banned_name`` root has its own key). Every finding
of the scan that has removal steps (:func:`native_host.scan.remove.plan_finding`) is indexed by both.

Each ``installed_in`` item is ``{"store", "location", "remove"}``: ``remove`` is
:meth:`~native_host.scan.remove.Step.one_line` when the step's commands remove the certificate, else the
step's text (a file that holds other certificates, a distribution file to block by hand). Locations and
commands come from paths and nicknames, attacker-controlled text: made terminal-safe with
:func:`native_host.textsafe.escape` (commands already are) and bounded (:data:`MAX_ITEMS`,
:data:`MAX_TEXT`; an over-long command becomes ``rootsentinel scan``, which prints it).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable

from native_host.textsafe import escape

DEADLINE = 2.0
"""Seconds from a scan's start that banned verdicts wait for it, at most."""

TTL = 300.0
"""Seconds a scan's result (or failure) is reused."""

BUDGET = 20.0
"""Seconds the scan's tool runs may take in all; a tool run is not started past it."""

MAX_ITEMS = 16
MAX_TEXT = 2048
_COMMAND_ACTIONS = ("nss-delete", "delete-file", "conf-disable", "regenerate", "run")
"""Step actions whose commands remove the certificate (else the step's text says what to do)."""

Index = dict[str, list[dict[str, str]]]


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "\u2026"


def item_of(step: Any) -> dict[str, str]:
    """The ``installed_in`` item of one removal step (:class:`native_host.scan.remove.Step`)."""
    remove = step.one_line() if step.commands and step.action in _COMMAND_ACTIONS else step.text
    if len(remove) > MAX_TEXT:
        remove = "rootsentinel scan"
    return {"store": step.store, "location": _cut(escape(step.location)), "remove": remove}


def index_report(report: Any) -> Index:
    """Findings with removal steps, by ``cert_sha256`` and ``spki_sha256``."""
    index: Index = {}
    for finding in report.findings:
        if not finding.remove:
            continue
        items = [item_of(s) for s in finding.remove]
        for key in (finding.facts.cert_sha256, finding.facts.spki_sha256):
            if key:
                index.setdefault(key, []).extend(items)
    return index


def scan_this_user(blocklist: Any = None, public: Any = None, policy: Any = None,
                   budget: float = BUDGET) -> Index:
    """Scan this user's and the system's stores (as ``rootsentinel scan``) with tool runs bounded by
    ``budget`` seconds in all; returns :func:`index_report` of it."""
    from native_host.scan import scan_with
    from native_host.scan.model import StoreUnreadable, run_tool
    from native_host.scan.readers import context

    ctx, readers = context()
    end = time.monotonic() + budget

    def bounded(argv):  # noqa: ANN001, ANN202 - a scan Runner
        left = end - time.monotonic()
        if left <= 0.1:
            raise StoreUnreadable(f"not run: the scan's {budget:g} s are over")
        return run_tool(argv, timeout=left)

    ctx.run = bounded
    ctx.deadline = end  # tools the readers start themselves (NSS certutil for a legacy database)
    return index_report(scan_with(ctx, readers, blocklist=blocklist, public=public, policy=policy))


def root_keys(verdict: dict[str, Any]) -> list[str]:
    """The fingerprints of a banned verdict's root: the entry's, then the sent anchor's."""
    keys: list[str] = []
    matched = verdict.get("matched") or {}
    entry = matched.get("entry") or {}
    keys += [entry.get("cert_sha256"), entry.get("spki_sha256")]
    anchor = verdict.get("anchor") or {}
    rows = verdict.get("chain") or []
    if anchor.get("sent") and isinstance(anchor.get("index"), int) and 0 <= anchor["index"] < len(rows):
        row = rows[anchor["index"]]
        keys += [row.get("cert_sha256"), row.get("spki_sha256")]
    out: list[str] = []
    for k in keys:
        if isinstance(k, str) and k and k not in out:
            out.append(k)
    return out


class InstalledRoots:
    """The lazy, cached, bounded lookup (module doc).

    Args:
        scan: ``() -> Index``; default :func:`scan_this_user` with the arguments given to :meth:`bind`.
        deadline / ttl: :data:`DEADLINE`, :data:`TTL`.
        clock: ``time.monotonic``.
    """

    def __init__(self, scan: Callable[[], Index] | None = None, deadline: float = DEADLINE, ttl: float = TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._scan = scan
        self.deadline, self.ttl, self.clock = deadline, ttl, clock
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started: float | None = None  # the current scan's start
        self._finished: float | None = None
        self._index: Index | None = None  # None: failed or not finished

    def bind(self, blocklist: Any, public: Callable[[], Any], policy: Any) -> None:
        """Use the host's blocklist, public store (a getter: loaded on first use) and system policy."""
        if self._scan is None:
            self._scan = lambda: scan_this_user(blocklist, public(), policy)

    def _run(self, done: threading.Event) -> None:
        index: Index | None = None
        try:
            index = self._scan() if self._scan else {}
        except Exception as exc:  # noqa: BLE001 - a scan must never break a verdict
            text = " ".join(str(exc).split())[:200]
            sys.stderr.write(f"rootsentinel host: installed-roots scan failed: {type(exc).__name__}: {escape(text)}\n")
            sys.stderr.flush()
        with self._lock:
            if done is self._done:
                self._index, self._finished = index, self.clock()
        done.set()

    def _current(self) -> tuple[threading.Event, float]:
        """The scan to wait for, started now when there is none or the last one is older than the TTL."""
        now = self.clock()
        with self._lock:
            stale = self._finished is not None and now - self._finished > self.ttl
            if self._started is None or stale:
                self._done, self._started, self._finished, self._index = threading.Event(), now, None, None
                threading.Thread(target=self._run, args=(self._done,), name="installed-roots", daemon=True).start()
            return self._done, self._started

    def start(self) -> None:
        """Start the scan now if none is running or fresh (a probe that will ask, before its handshake)."""
        self._current()

    def lookup(self, keys: list[str]) -> list[dict[str, str]] | None:
        """The places the root with one of ``keys`` is installed, [] when none, None when unknown (the scan
        failed or did not finish by its deadline)."""
        done, started = self._current()
        left = started + self.deadline - self.clock()
        if not done.is_set() and (left <= 0 or not done.wait(left)):
            return None
        with self._lock:
            index = self._index if done is self._done else None
        if index is None:
            return None
        out: list[dict[str, str]] = []
        for key in keys:
            for item in index.get(key, []):
                if item not in out:
                    out.append(item)
        return out[:MAX_ITEMS]

    def annotate(self, verdict: dict[str, Any], say_none: bool = False) -> dict[str, Any]:
        """Add ``installed_in`` to a verdict whose root is installed here; never raises. The host calls it for
        ``banned`` verdicts, and for ``interception`` and ``notice`` ones a probe request asked about
        (``installed_in: true``: the extension asks when the browser refused a certificate, to tell "a root
        installed here" from "a root nothing here trusts"). With ``say_none`` a root the finished scan found
        nowhere gets ``installed_in: []``; a scan that failed or is late, or a root the chain did not carry
        (no key to look up), leaves the field out (unknown)."""
        keys = root_keys(verdict)
        if not keys:
            return verdict
        try:
            found = self.lookup(keys)
        except Exception as exc:  # noqa: BLE001
            sys.stderr.write(f"rootsentinel host: installed-roots lookup failed: {type(exc).__name__}\n")
            return verdict
        if found or (say_none and found is not None):
            verdict["installed_in"] = found
        return verdict
