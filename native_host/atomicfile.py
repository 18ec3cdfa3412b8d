"""One way to replace a file atomically, for every writer in the package (the blocklist updater and
builder, the installer's host manifests and records, ``scan --fix`` and ``--undo``)."""

from __future__ import annotations

import contextlib
import os
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
