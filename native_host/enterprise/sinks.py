"""Where audit events go: an append-only JSON-lines file and the local syslog socket.

Several host processes append to one file: each line is written with a single ``os.write`` on an
``O_APPEND`` descriptor while holding an advisory lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on
Windows, where the C runtime's append is a seek plus a write), so lines are never lost or interleaved.
A file renamed away by log rotation is noticed and reopened. The default file is per user
(:func:`native_host.enterprise.config.default_audit_log_path`); for one file per machine an administrator creates
it writable by every user and names it in ``audit_log``. Writing never raises into the host: a failure
is reported once on stderr and the verdict is still answered.

Syslog (``"syslog": true``): the same JSON as the message of an RFC 5424-shaped line
(``<PRI>1 TIMESTAMP HOSTNAME rootsentinel PID verdict - JSON``) sent with
:class:`logging.handlers.SysLogHandler` to ``/dev/log`` (Linux) or ``/var/run/syslog`` (macOS), facility
``user``; Windows has no local syslog socket and it is reported as unavailable.
"""

from __future__ import annotations

import os
from pathlib import Path

from native_host.enterprise.ecs import _iso

SYSLOG_ADDRESSES = ("/dev/log", "/var/run/syslog")
"""Local syslog sockets tried in order (Linux, macOS)."""


class AppendLog:
    """A log file that several processes append whole lines to.

    Each :meth:`append` takes the advisory lock, writes the line with one ``os.write`` on an ``O_APPEND``
    descriptor (looping only on a short write, still under the lock) and releases it. The descriptor is
    kept open; when the path no longer names the same file (rotated away or deleted) it is reopened.

    Args:
        path: the log file; missing parent folders are created (mode 0700), a new file gets mode 0600
            (it lists sites the user visited).

    Raises (from :meth:`append`):
        OSError: the file cannot be opened, locked or written.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None

    def _open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        st = os.fstat(fd)
        self._fd, self._ident = fd, (st.st_dev, st.st_ino)

    def _current(self) -> int:
        if self._fd is not None:
            try:
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == self._ident:
                    return self._fd
            except FileNotFoundError:
                pass
            self.close()
        self._open()
        assert self._fd is not None
        return self._fd

    def append(self, line: bytes) -> None:
        """Append one line (``line`` must end with ``\\n`` and hold no other newline)."""
        fd = self._current()
        _lock(fd)
        try:
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            _unlock(fd)

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None


if os.name == "nt":
    import msvcrt

    _LOCK_OFFSET = 0x7FFFFFF0
    # msvcrt.locking locks bytes from the current position, and Windows byte-range locks are mandatory
    # (they also stop other processes *reading* the range): lock one byte past any realistic end of file,
    # which log shippers never read and which is legal to lock (LockFile: "beyond the current end-of-file
    # position is not an error"); below 2**31 for C runtimes with 32-bit _locking offsets.

    def _lock(fd: int) -> None:
        # LK_LOCK retries once a second for 10 s, then raises OSError (the event is dropped and reported):
        # a writer holds the lock for microseconds, so 10 s means a stuck process, not contention.
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class _Rfc5424Formatter:
    """``1 TIMESTAMP HOSTNAME rootsentinel PID verdict - MSG`` (RFC 5424 section 6; SysLogHandler adds
    ``<PRI>``; the message is the event JSON, no BOM)."""

    def __init__(self, hostname: str) -> None:
        self.hostname = "".join(c for c in hostname if 33 <= ord(c) <= 126)[:255] or "-"

    def format(self, record) -> str:
        return f"1 {_iso(record.created)} {self.hostname} rootsentinel {os.getpid()} verdict - {record.getMessage()}"
