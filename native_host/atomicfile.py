"""One way to replace a file atomically, for every writer in the package (the blocklist updater and
builder, the installer's host manifests and records, ``scan --fix`` and ``--undo``)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, mode: int | None = 0o644) -> None:
    """Replace ``path`` with ``data``: a temporary file in the same folder, fsync, then :func:`os.replace`
    (a symlink at ``path`` is replaced, never followed).

    Args:
        path: the file to write; its folder must exist.
        data: the new contents.
        mode: permission bits of the new file; None keeps the bits ``path`` has now (0o644 when it does
            not exist). ``mkstemp`` makes 0600 files, so the mode is always set.

    Raises:
        OSError: the temporary file cannot be created, written or renamed (it is removed; ``path`` is
            unchanged).
    """
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = 0o644
    # mkstemp opens with O_CREAT | O_EXCL (a planted name or link fails, it is never followed); the mode is
    # set on the open descriptor, so swapping the temporary name for a link cannot redirect the chmod
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_in(folder: Path, name: str, data: bytes, mode: int = 0o600, keep_owner: bool = False) -> None:
    """Replace the file ``name`` in ``folder`` with ``data``, the folder opened once and every step done
    relative to that descriptor (``openat``/``renameat``): a folder on the way that is swapped for a
    symbolic link after the open cannot redirect the write. Used where root writes into a folder a user
    owns (``scan --undo`` of an NSS database).

    Args:
        folder: the folder (must exist; followed once, when opened).
        name: a plain file name (no ``/``).
        mode: permission bits of the new file.
        keep_owner: give the new file the owner of the file it replaces (else of the folder) before it
            takes the name: root restoring a user's file leaves it the user's.

    Raises:
        OSError: the folder cannot be opened, or the file cannot be written or renamed (``name`` unchanged).
        ValueError: ``name`` is not a plain file name.
    """
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"not a plain file name: {name!r}")
    dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        owner = None
        if keep_owner:
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    st = os.fstat(dir_fd)
            except FileNotFoundError:
                st = os.fstat(dir_fd)
            owner = (st.st_uid, st.st_gid)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        for _ in range(100):
            tmp = f".{name}.{os.urandom(6).hex()}.tmp"
            try:
                fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"no free temporary name beside {name}")
        try:
            with os.fdopen(fd, "wb") as fh:
                if owner is not None:
                    os.fchown(fh.fileno(), *owner)
                os.fchmod(fh.fileno(), mode)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
    finally:
        os.close(dir_fd)
