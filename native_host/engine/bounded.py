"""Caches bounded by entries *and* by bytes (issue 22, item 12).

A cache bounded only by its number of entries is bounded in memory only while entries are small: a page
whose 4,000 origins each present a distinct 90 KB leaf (a 2,000-name SAN list) filled the host's
certificate caches to over a gigabyte. Each cache here also counts the bytes of what it keeps (the DER a
parsed certificate came from; the objects parsed from it are a few times that) and drops the least
recently used entries past :attr:`BoundedCache.max_bytes`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class BoundedCache:
    """A thread-safe LRU mapping bounded by ``max_entries`` and by ``max_bytes`` of entry weights.

    An entry heavier than a quarter of ``max_bytes`` is not kept at all (a flood of huge certificates
    would otherwise flush every useful entry at once).
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    @property
    def bytes(self) -> int:
        """The summed weight of the entries kept now."""
        return self._bytes

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return default
            self._data.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any, weight: int = 0) -> None:
        """Keep ``value`` under ``key`` (weight in bytes), evicting the least recently used past the bounds."""
        if weight > self.max_bytes // 4:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._data[key] = (value, weight)
            self._bytes += weight
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, w) = self._data.popitem(last=False)
                self._bytes -= w

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0


def cached_by_bytes(max_entries: int, max_bytes: int) -> Callable[[Callable[[bytes], T]], Callable[[bytes], T]]:
    """Decorator: cache a function of one ``bytes`` argument in a :class:`BoundedCache` weighted by the
    argument's length. The wrapper has ``cache_clear()`` and ``cache`` (as ``functools.lru_cache`` has the
    first)."""
    def wrap(fn: Callable[[bytes], T]) -> Callable[[bytes], T]:
        cache = BoundedCache(max_entries, max_bytes)
        missing = object()

        def cached(data: bytes) -> T:
            hit = cache.get(data, missing)
            if hit is not missing:
                return hit
            value = fn(data)
            cache.put(data, value, len(data))
            return value

        cached.cache_clear = cache.clear  # type: ignore[attr-defined]
        cached.cache = cache  # type: ignore[attr-defined]
        cached.__doc__, cached.__name__ = fn.__doc__, fn.__name__
        return cached
    return wrap
