"""Running NSS ``certutil`` on a database that someone else may control, without running their code.

NSS loads the PKCS #11 modules its configuration folder names: ``pkcs11.txt`` (``sql:``) or ``secmod.db``
(``dbm:``) beside the certificate database. A user who writes ``library=~/x.so`` there gets ``x.so`` run by
every process that opens the database with NSS (as root, when root's ``scan --fix`` did). So every
``certutil`` this package starts on a database folder runs:

- with a **private configuration folder**: ``-d sql:PRIVATE`` (a new empty folder) and the database's own
  files reached through the certificate-database prefix (``-P``, "prefix to prepend to the cert and key db
  files", NSS Tools certutil): NSS opens ``PRIVATE/PREFIXcert9.db`` and ``PRIVATE/PREFIXkey4.db``, but its
  module list from ``PRIVATE`` only, so the user's ``pkcs11.txt`` is never read;
- with the database folder **pinned**: on Linux the folder is opened once and the prefix goes through
  ``/proc/self/fd/N/`` of that descriptor, so a path swapped after the checks leads nowhere else;
- as the **folder's owner**: run by root, ``certutil`` drops to the owner's uid, gid and groups before
  ``exec`` (``subprocess`` ``user``/``group``/``extra_groups``), so whatever NSS writes (the journal, the
  changed database) is written with the owner's rights, never root's, and a bug in NSS parsing a hostile
  database runs as the owner at most. Run by anyone else, a folder they do not own is refused;
- refused when the folder is writable by others (by the group too, when root runs it): others could plant
  files NSS opens with the owner's rights;
- with a minimal environment (``PATH``, ``LC_ALL=C``, ``HOME`` the private folder).

Under ``--root`` (a mounted disk) uids are the other system's: a database owned by uid 0 there is not a
database this machine's root owns, so it is refused too (:func:`owner_for`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from native_host.scan.model import StoreUnreadable, ToolMissing


_PRIVATE: set[str] = set()
"""Private configuration folders in use; removed at exit too (a host that exits while a tool runs on a daemon
thread never reaches the ``finally`` that removes its folder)."""


@atexit.register
def _remove_private() -> None:
    for folder in list(_PRIVATE):
        shutil.rmtree(folder, ignore_errors=True)


class Refused(StoreUnreadable):
    """``certutil`` is not run on this database (who owns it, or who may write it, says no)."""

    code = "store_refused"


@dataclass(frozen=True)
class Owner:
    """Whom ``certutil`` runs as: ``uid``/``gid``/``groups`` to switch to, or ``None`` to stay as we are."""

    uid: int | None
    gid: int | None = None
    groups: tuple[int, ...] = ()
    name: str = ""


def owner_for(st: os.stat_result, rooted: bool = False) -> Owner:
    """Who may run NSS on a database folder whose ``os.stat`` is ``st``.

    Raises:
        Refused: the folder is writable by others; it belongs to another user and we cannot switch;
            under ``--root`` (``rooted``) it is owned by uid 0 of the other system; or its owner has no
            account here.
    """
    if not hasattr(os, "geteuid"):  # Windows: no uids; the private configuration still keeps modules out
        return Owner(None)
    euid = os.geteuid()
    if st.st_mode & stat.S_IWOTH or (euid == 0 and st.st_mode & stat.S_IWGRP):
        who = "others" if st.st_mode & stat.S_IWOTH else "its group"
        raise Refused(f"the database folder is writable by {who} (mode {stat.S_IMODE(st.st_mode):o}): not run")
    if euid != 0:
        if st.st_uid != euid:
            raise Refused(f"the database folder belongs to uid {st.st_uid}, not to you: run this as that user")
        return Owner(None)
    if st.st_uid == 0:
        if rooted:
            raise Refused("the database belongs to uid 0 of the scanned tree, which is not this machine's root: "
                          "not run (remove it inside that system)")
        return Owner(None)
    import pwd

    try:
        pw = pwd.getpwuid(st.st_uid)
    except KeyError as exc:
        raise Refused(f"the database folder belongs to uid {st.st_uid}, which has no account here: not run") from exc
    return Owner(st.st_uid, pw.pw_gid, tuple(os.getgrouplist(pw.pw_name, pw.pw_gid)), pw.pw_name)


def _env(private: str) -> dict[str, str]:
    env = {"PATH": os.defpath, "LC_ALL": "C", "HOME": private}
    if "SystemRoot" in os.environ:  # Windows: a program cannot start without it
        env["SystemRoot"] = os.environ["SystemRoot"]
        env["PATH"] = os.environ.get("PATH", "")
    return env


def _prefix(private: str, folder: Path, fd: int | None) -> str:
    """``-P`` value that leads from ``private`` to the database folder (pinned by ``fd`` on Linux)."""
    if fd is not None:
        depth = len(Path(private).parts) - 1
        return "../" * depth + f"proc/self/fd/{fd}/"
    try:
        rel = os.path.relpath(os.path.realpath(folder), private)
    except ValueError as exc:  # Windows: another drive
        raise Refused("the database is on another drive than the temporary folder: not run") from exc
    return rel.replace(os.sep, "/") + "/"


def run_certutil(certutil: str, scheme: str, folder: Path, args: Sequence[str], *, rooted: bool = False,
                 timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run ``certutil ARGS`` on the NSS database in ``folder`` (``scheme`` ``sql`` or ``dbm``) as described in
    the module doc: private configuration, pinned folder, the folder's owner, minimal environment.

    Args:
        certutil: the NSS certutil to run.
        args: what follows ``-d``/``-P``: e.g. ``["-L"]`` or ``["-D", "-n", NICK]``; the verb goes first.
        rooted: the folder is inside a ``--root`` tree (:func:`owner_for`).

    Returns:
        The finished process (exit code, stdout, stderr): the caller judges it.

    Raises:
        Refused: see :func:`owner_for`.
        ToolMissing: ``certutil`` is not installed.
        StoreUnreadable: the folder cannot be opened, or ``certutil`` did not finish in ``timeout`` s.
    """
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    pin = hasattr(os, "O_DIRECTORY") and os.path.isdir("/proc/self/fd")  # Linux: pin through /proc/self/fd
    try:
        fd = os.open(folder, flags) if pin else None
        st = os.fstat(fd) if fd is not None else os.stat(folder)
    except OSError as exc:
        raise StoreUnreadable(f"cannot open the database folder: {exc.strerror}") from exc
    try:
        if not stat.S_ISDIR(st.st_mode):
            raise StoreUnreadable("the database folder is not a folder")
        owner = owner_for(st, rooted)
        private = os.path.realpath(tempfile.mkdtemp(prefix="rootsentinel-nss-"))
        _PRIVATE.add(private)
        try:
            if owner.uid is not None:
                os.chown(private, owner.uid, owner.gid)
            verb, rest = list(args[:1]), list(args[1:])
            argv = [certutil, *verb, "-d", f"{scheme}:{private}", "-P", _prefix(private, folder, fd), *rest]
            kwargs: dict = {}
            if owner.uid is not None:
                kwargs = {"user": owner.uid, "group": owner.gid, "extra_groups": list(owner.groups)}
            try:
                return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      timeout=timeout, check=False, cwd=private, env=_env(private),
                                      pass_fds=(fd,) if fd is not None else (), umask=0o077, **kwargs)
            except FileNotFoundError as exc:
                raise ToolMissing(f"{certutil} is not installed") from exc
            except subprocess.TimeoutExpired as exc:
                raise StoreUnreadable(f"{Path(certutil).name} did not finish in {timeout:.0f} s") from exc
        finally:
            shutil.rmtree(private, ignore_errors=True)
            _PRIVATE.discard(private)
    finally:
        if fd is not None:
            os.close(fd)
