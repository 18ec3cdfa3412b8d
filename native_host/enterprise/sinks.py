"""Where audit events go: the local system logger, a remote syslog collector (TCP or TLS), and a JSON-lines
file of the user's own. Each sink delivers one line at a time on its own worker thread
(:mod:`native_host.enterprise.delivery`), never on the thread that answers the browser, and raises
:class:`Undelivered` when a line could not be delivered (the worker counts it as dropped).

- :class:`LocalSyslogSink`: the BSD form (:func:`native_host.enterprise.syslog.bsd_line`) as one datagram
  to ``/dev/log`` (Linux) or ``/var/run/syslog`` (macOS), sent without blocking (``MSG_DONTWAIT``): a
  stalled daemon costs a bounded wait, then a drop. The kernel tells the daemon the sender's real uid and
  pid (``SO_PASSCRED``): journald records them as ``_UID`` / ``_PID`` and rsyslog's ``imuxsock`` with
  ``SysSock.Annotate`` / ``ParseTrusted`` as ``$!uid`` / ``$!pid``, so one user cannot pass a line off as
  another's; the daemon's files belong to root, so no user can erase them. This is the primary
  destination for events a user must not forge or erase.
- :class:`RemoteSyslogSink`: RFC 5424 with RFC 6587 octet counting over TCP, or over TLS (RFC 5425) with
  the collector's certificate verified against ``ca_file`` (and an optional client certificate).
- :class:`FileSink`: the user's own file, written only when it is a regular file owned by this user that
  no other user can write (a file anyone can write is not an audit log: any account could forge or
  truncate it). Each line is one ``os.write`` on an ``O_APPEND`` descriptor under a *non-blocking*
  advisory lock (``flock(LOCK_EX | LOCK_NB)``, retried for at most ``lock_wait`` seconds): another
  account that holds the lock costs a drop, never a hung host. A file renamed away by log rotation
  (logrotate ``create``) is noticed before each write and reopened; a file truncated in place (logrotate
  ``copytruncate``) is appended to at its new end (``O_APPEND``).

Windows has no local syslog socket; its file lock is ``msvcrt.locking`` with ``LK_NBLCK`` (one try).
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

SYSLOG_ADDRESSES = ("/dev/log", "/var/run/syslog")
"""Local syslog sockets tried in order (Linux, macOS)."""

LOCK_WAIT = 1.0
"""Seconds a file sink's worker tries for its lock before the lines are dropped: writers hold it for
microseconds, so a second means a process that holds it on purpose (or is stuck)."""

SEND_WAIT = 0.5
"""Seconds a local syslog sink retries a datagram the daemon's full queue refused (EAGAIN)."""

CONNECT_TIMEOUT = 5.0
"""Seconds a remote sink waits to connect (TCP and TLS handshake) or to send."""


class Undelivered(Exception):
    """Lines were not delivered; ``str(exc)`` says why in one line (they are counted and reported).
    ``delivered``: how many lines of a batch went through before the failure (0 for one line or an
    all-or-nothing write)."""

    delivered = 0


class Sink:
    """One destination. ``name`` identifies it in drop counts (``file:PATH``, ``syslog:ADDRESS``,
    ``remote:HOST:PORT``); ``kind`` is ``file``, ``syslog`` or ``remote``."""

    name = "sink"
    kind = "sink"

    def deliver(self, line: bytes) -> None:  # pragma: no cover - interface
        """Deliver one formatted line (raises :class:`Undelivered`)."""
        raise NotImplementedError

    def deliver_many(self, lines: list[bytes]) -> None:
        """Deliver lines in order (raises :class:`Undelivered` with ``delivered``, how many of them went
        through before the failure); by default one :meth:`deliver` each."""
        for n, line in enumerate(lines):
            try:
                self.deliver(line)
            except Undelivered as exc:
                exc.delivered = n
                raise

    def close(self) -> None:
        """Release the descriptor or connection (a later :meth:`deliver` opens it again)."""


# --- the user's own file -------------------------------------------------------------------------


def file_refusal(st: os.stat_result, euid: int | None = None) -> str | None:
    """Why a file with status ``st`` must not hold this user's audit events, or None when it may.

    Refused: not a regular file; owned by another user; writable by its group or by others (any of them
    could forge or truncate it). Windows (no ownership in ``st``): never refused here.
    """
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if os.name == "nt":
        return None
    euid = os.geteuid() if euid is None else euid
    if st.st_uid != euid:
        return f"owned by uid {st.st_uid}, not by this user (uid {euid})"
    if st.st_mode & 0o022:
        return (f"writable by {'others' if st.st_mode & 0o002 else 'its group'} (mode {st.st_mode & 0o777:04o}): "
                f"any of them could forge or erase events")
    return None


class FileSink(Sink):
    """The user's JSON-lines audit file (see the module doc).

    Args:
        path: the file; missing parent folders are created (mode 0700), a new file gets mode 0600 (it lists
            sites the user visited).
        lock_wait: seconds to try for the lock (:data:`LOCK_WAIT`).
    """

    kind = "file"

    def __init__(self, path: Path, lock_wait: float = LOCK_WAIT) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path}"
        self.lock_wait = lock_wait
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise Undelivered(f"audit log {self.path}: cannot create its folder: {exc.strerror or exc}") from exc
        flags = (os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))  # a FIFO planted there never blocks
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise Undelivered(f"audit log {self.path}: a symbolic link, refused") from exc
            raise Undelivered(f"audit log {self.path}: cannot open: {exc.strerror or exc}") from exc
        st = os.fstat(fd)
        why = file_refusal(st)
        if why:
            os.close(fd)
            raise Undelivered(f"audit log {self.path}: refused: {why}")
        self._fd, self._ident = fd, (st.st_dev, st.st_ino)
        return fd

    def _current(self) -> int:
        if self._fd is not None:
            try:
                st = os.stat(self.path, follow_symlinks=False)
                if (st.st_dev, st.st_ino) == self._ident:
                    return self._fd
            except OSError:
                pass
            self.close()  # rotated away (renamed or deleted): a new file at the path
        return self._open()

    def deliver_many(self, lines: list[bytes]) -> None:
        """Append whole lines with one lock and one write (a batch the worker took from its queue)."""
        self.deliver(b"".join(lines))

    def deliver(self, line: bytes) -> None:
        """Append ``line`` (whole lines, each ending with ``\\n``) under the non-blocking lock."""
        fd = self._current()
        if not _try_lock(fd, self.lock_wait):
            raise Undelivered(f"audit log {self.path}: locked by another process (waited {self.lock_wait:g} s)")
        try:
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except OSError as exc:
            self.close()
            raise Undelivered(f"audit log {self.path}: cannot write: {exc.strerror or exc}") from exc
        finally:
            if self._fd is not None:
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

    def _try_lock(fd: int, wait: float) -> bool:
        end = time.monotonic() + wait
        while True:
            os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
                return True
            except OSError:
                if time.monotonic() >= end:
                    return False
                time.sleep(0.005)

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
else:
    import fcntl

    def _try_lock(fd: int, wait: float) -> bool:
        """``flock(LOCK_EX | LOCK_NB)``, retried every 1-10 ms until ``wait`` seconds have passed."""
        end = time.monotonic() + wait
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= end:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.01)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


# --- the local system logger ---------------------------------------------------------------------


def local_syslog_address() -> str | None:
    """The first of :data:`SYSLOG_ADDRESSES` that exists, or None (Windows, containers without a logger)."""
    return next((a for a in SYSLOG_ADDRESSES if os.path.exists(a)), None)


class LocalSyslogSink(Sink):
    """Datagrams to the local syslog socket (see the module doc).

    Args:
        address: the socket path (default :func:`local_syslog_address`).
        send_wait: seconds to retry a datagram refused with EAGAIN (:data:`SEND_WAIT`).
    """

    kind = "syslog"

    def __init__(self, address: str | None = None, send_wait: float = SEND_WAIT) -> None:
        self.address = address or local_syslog_address()
        self.name = f"syslog:{self.address or '-'}"
        self.send_wait = send_wait
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        if self.address is None or not hasattr(socket, "AF_UNIX"):
            raise Undelivered("this system has no local syslog socket (/dev/log, /var/run/syslog)")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.connect(self.address)
        except OSError as exc:
            sock.close()
            raise Undelivered(f"syslog socket {self.address}: {exc.strerror or exc}") from exc
        self._sock = sock
        return sock

    def deliver(self, line: bytes) -> None:
        end = time.monotonic() + self.send_wait
        reconnected = False
        while True:
            sock = self._sock or self._connect()
            try:
                sock.send(line, getattr(socket, "MSG_DONTWAIT", 0))
                return
            except BlockingIOError:  # the daemon's queue is full
                if time.monotonic() >= end:
                    raise Undelivered(f"syslog socket {self.address} is full (the daemon is not reading)") from None
                time.sleep(0.005)
            except OSError as exc:  # the daemon restarted (a new socket at the path), or the line is too big
                self.close()
                if reconnected or exc.errno == errno.EMSGSIZE:
                    raise Undelivered(f"syslog socket {self.address}: {exc.strerror or exc}") from exc
                reconnected = True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# --- a remote collector --------------------------------------------------------------------------


class RemoteSyslogSink(Sink):
    """RFC 5424 lines, octet-counted (RFC 6587), over TCP or TLS (RFC 5425) to ``host:port``.

    Args:
        host, port: the collector.
        transport: ``tcp`` or ``tls``.
        ca_file: PEM file of the CA(s) that issued the collector's certificate (TLS; default the system's).
        cert_file, key_file: a client certificate and key (TLS, for collectors that ask for one).
        server_name: the name the collector's certificate must carry (default ``host``).
        timeout: seconds to connect and to send (:data:`CONNECT_TIMEOUT`).

    A failed connection is retried at the next line, but not sooner than 1, 2, 5, 10, then 30 s after the
    last failure; lines in between are dropped (and counted).
    """

    kind = "remote"
    _BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)

    def __init__(self, host: str, port: int, transport: str = "tls", *, ca_file: str | None = None,
                 cert_file: str | None = None, key_file: str | None = None, server_name: str | None = None,
                 timeout: float = CONNECT_TIMEOUT) -> None:
        if transport not in ("tcp", "tls"):
            raise ValueError(f"transport must be tcp or tls, not {transport!r}")
        self.host, self.port, self.transport = host, int(port), transport
        self.name = f"remote:{transport}://{host}:{port}"
        self.ca_file, self.cert_file, self.key_file = ca_file, cert_file, key_file
        self.server_name = server_name or host
        self.timeout = timeout
        self._sock: Any = None
        self._failures = 0
        self._retry_at = 0.0

    def _connect(self) -> Any:
        now = time.monotonic()
        if now < self._retry_at:
            raise Undelivered(f"{self.name}: not connected (retrying in {self._retry_at - now:.0f} s)")
        try:
            raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
            if self.transport == "tls":
                import ssl

                ctx = ssl.create_default_context(cafile=self.ca_file)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                if self.cert_file:
                    ctx.load_cert_chain(self.cert_file, self.key_file)
                try:
                    raw = ctx.wrap_socket(raw, server_hostname=self.server_name)
                except BaseException:
                    raw.close()
                    raise
        except (OSError, ValueError) as exc:
            self._failures += 1
            self._retry_at = now + self._BACKOFF[min(self._failures, len(self._BACKOFF)) - 1]
            raise Undelivered(f"{self.name}: {getattr(exc, 'strerror', None) or exc}") from exc
        self._failures = 0
        raw.settimeout(self.timeout)
        self._sock = raw
        return raw

    def deliver_many(self, lines: list[bytes]) -> None:
        self.deliver(b"".join(lines))

    def deliver(self, line: bytes) -> None:
        sock = self._sock or self._connect()
        try:
            sock.sendall(line)
        except OSError as exc:
            self.close()
            raise Undelivered(f"{self.name}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        if self._sock is not None:
            try:
                if hasattr(self._sock, "unwrap"):  # TLS: send close_notify, so the collector sees a clean end
                    self._sock.settimeout(1.0)
                    self._sock.unwrap()
            except (OSError, ValueError):
                pass
            try:
                self._sock.close()
            finally:
                self._sock = None
