"""A private mount namespace whose system folders are overlays, so a test can install a package, write
browser policies and run browsers as root while the real machine never changes (issue 23, "Done means").

``ns_command(work, script)`` is the argv of ``unshare --mount --propagation private`` running ``sh -c``: first an
overlay (upper and work folders under ``work/overlay/``) over each of :data:`OVERLAID`, then ``script``. Every
write to ``/etc``, ``/opt``, ``/usr`` (``/usr/lib/mozilla``, the systemd units) and ``/var`` (``/var/lib/dpkg``)
lands in ``work/overlay/<dir>/upper`` and vanishes with the namespace; ``/tmp`` stays shared, so results are
written there. Processes started inside keep the namespace (the browsers, the host they start).
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

OVERLAID = ("/etc", "/opt", "/usr", "/var")
"""The folders overlaid: everything a Debian package, browser policies and host manifests write to."""


def available() -> str | None:
    """None when the namespace can be made here, else why not (for ``pytest.skip``)."""
    if os.geteuid() != 0:
        return "needs root for unshare --mount and overlay mounts"
    if not shutil.which("unshare"):
        return "needs unshare (util-linux)"
    if not Path("/proc/filesystems").read_text().count("overlay"):
        return "needs overlayfs"
    return None


def mount_script(work: Path) -> str:
    """The shell lines that put an overlay over each of :data:`OVERLAID` (upper folders in ``work/overlay``)."""
    lines = ["set -e"]
    for folder in OVERLAID:
        base = work / "overlay" / folder.strip("/")
        upper, scratch = base / "upper", base / "work"
        lines.append(f"mkdir -p {shlex.quote(str(upper))} {shlex.quote(str(scratch))}")
        lines.append(f"mount -t overlay rootsentinel-test-{folder.strip('/')} -o "
                     f"lowerdir={folder},upperdir={shlex.quote(str(upper))},workdir={shlex.quote(str(scratch))} {folder}")
    return "\n".join(lines)


def ns_command(work: Path, script: str) -> list[str]:
    """argv that runs ``script`` (sh) in a new private mount namespace with the overlays in place."""
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            mount_script(work) + "\nset +e\n" + script]


def upper_files(work: Path) -> list[str]:
    """Regular files and symbolic links left in the overlays' upper folders (what the namespace changed),
    as the absolute paths they had inside; whiteouts and copied-up folders are not listed."""
    found = []
    for folder in OVERLAID:
        upper = work / "overlay" / folder.strip("/") / "upper"
        for p in upper.rglob("*"):
            if p.is_symlink() or p.is_file():
                found.append(f"{folder}/{p.relative_to(upper)}")
    return sorted(found)
