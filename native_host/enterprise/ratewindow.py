"""The audit rate window: one event per fact per window, the next one counting the repeats.

De-duplication: one event per (origin, leaf ``cert_sha256``, anchor key, level) per window (default
3,600 s; ``audit_window_seconds``); the next event after the window counts the repeats it stood for.
The window is per host process (one per browser profile): several profiles seeing the same page are
several facts.
"""

from __future__ import annotations

from typing import Any

from native_host.enterprise.ecs import _anchor, origin_of

DEFAULT_WINDOW_SECONDS = 3600.0
"""De-duplication window in seconds, unless the config sets ``audit_window_seconds``."""

_MAX_KEYS = 50_000  # de-duplication memory bound per process


def dedup_key(verdict: dict[str, Any]) -> tuple[str, str | None, str | None, str]:
    """``(origin, leaf cert_sha256, anchor spki_sha256 or cert_sha256 or name, level)``."""
    rows = verdict.get("chain") or []
    leaf = rows[0].get("cert_sha256") if rows else None
    anchor = _anchor(verdict)
    return origin_of(verdict), leaf, anchor["spki_sha256"] or anchor["cert_sha256"] or anchor["name"], verdict["level"]


class RateWindow:
    """One event per key per ``window`` seconds, with the count of repeats it stood for.

    Not thread-safe: the caller holds its own lock. Memory is bounded (:data:`_MAX_KEYS` keys; keys
    older than the window go first, then the oldest).
    """

    def __init__(self, window: float = DEFAULT_WINDOW_SECONDS) -> None:
        self.window = float(window)
        self._seen: dict[tuple, list] = {}  # key -> [time logged, repeats suppressed since]

    def admit(self, key: tuple, now: float) -> int | None:
        """None when ``key`` was admitted less than the window ago (counted as a repeat); else the number
        of repeats suppressed since its last admission (0 for a new key), and ``key`` is remembered."""
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.window:
            seen[1] += 1
            return None
        repeats = seen[1] if seen else 0
        self._remember(key, now)
        return repeats

    def forget(self, key: tuple) -> None:
        """Forget ``key`` (its event was not written: the next identical one is admitted)."""
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)

    def _remember(self, key: tuple, now: float) -> None:
        self._seen.pop(key, None)
        self._seen[key] = [now, 0]  # dicts keep insertion order: oldest first
        if len(self._seen) > _MAX_KEYS:
            cutoff = now - self.window
            for old in [k for k, v in self._seen.items() if v[0] < cutoff]:
                del self._seen[old]
            while len(self._seen) > _MAX_KEYS * 9 // 10:
                self._seen.pop(next(iter(self._seen)))
