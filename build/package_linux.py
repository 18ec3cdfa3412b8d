#!/usr/bin/env python3
"""Linux packages of the native messaging host, from the PyInstaller onedir bundle (``make dist-host``).

    python build/package_linux.py tarball --bundle dist/rootsentinel-host --out dist
        -> dist/rootsentinel-host-linux-x86_64.tar.gz   (``rootsentinel-host/`` inside: the Ansible steps
           of docs/enterprise.md unpack it into /opt/rootsentinel/)
    python build/package_linux.py deb --bundle dist/rootsentinel-host --extension-id ID --out dist
        -> dist/rootsentinel_VERSION_amd64.deb

The Debian package holds:

- ``/opt/rootsentinel/rootsentinel-host/`` (the bundle) and ``/usr/bin/rootsentinel`` (a link to it);
- the host manifests for every browser's system folder (Chrome ``/etc/opt/chrome/native-messaging-hosts``,
  Chromium and Brave ``/etc/chromium/native-messaging-hosts``, Edge ``/etc/opt/edge/native-messaging-hosts``,
  Firefox ``/usr/lib/mozilla/native-messaging-hosts``), written by ``rootsentinel install --scope system
  --root`` itself, listing the given Chromium extension ids (the id of the CRX signing key) and the
  Firefox id;
- the scan and heartbeat units and timers of ``build/systemd/`` in ``/usr/lib/systemd/system/``,
  enabled by ``postinst`` and disabled by ``prerm``;
- the man page and bash/zsh completion when ``--docs`` names ``build/cli_docs.py``'s output;
- ``/etc/logrotate.d/rootsentinel`` for the audit file rsyslog writes (docs/enterprise.md section 7),
  the only conffile;
- ``preinst`` records the package's folders that existed before and that no package owns (``/etc/opt``);
  ``postrm`` puts back any that dpkg removed with our files.

``dpkg -r`` removes every file but the logrotate rule; ``dpkg --purge`` also removes it, the state
(``/var/lib/rootsentinel``), ``/var/log/rootsentinel`` and ``/etc/rootsentinel`` (the system config the
rollout put there). Built with ``dpkg-deb --root-owner-group`` (every file root:root, no fakeroot);
``tests/test_package_linux.py`` installs and removes it in a private mount namespace.

Both archives are reproducible for one bundle: sorted members, fixed mtime (``SOURCE_DATE_EPOCH``, default
the last commit's time), root ownership.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from native_host import __version__  # noqa: E402
from native_host.install.installer import install  # noqa: E402
from native_host.install.model import Environment  # noqa: E402

PACKAGE = "rootsentinel"
TARBALL_NAME = "rootsentinel-host-linux-x86_64.tar.gz"
INSTALL_DIR = PurePosixPath("/opt/rootsentinel")
HOST_EXE = INSTALL_DIR / "rootsentinel-host" / "rootsentinel-host"
UNIT_DIR = PurePosixPath("/usr/lib/systemd/system")
TIMERS = ("rootsentinel-scan.timer", "rootsentinel-heartbeat.timer")
LOGROTATE = PurePosixPath("/etc/logrotate.d/rootsentinel")

LOGROTATE_RULE = """\
# RootSentinel: the audit file rsyslog writes with the rule of docs/enterprise.md, section 7
/var/log/rootsentinel/audit.jsonl {
    weekly
    rotate 12
    compress
    delaycompress
    missingok
    notifempty
    create 0640 root adm
    postrotate
        [ ! -x /usr/lib/rsyslog/rsyslog-rotate ] || /usr/lib/rsyslog/rsyslog-rotate
    endscript
}
"""

POSTINST = f"""\
#!/bin/sh
# RootSentinel postinst: state folder, audit log folder, the scan and heartbeat timers
set -e
if [ "$1" = configure ]; then
    install -d -m 0755 /var/lib/rootsentinel
    install -d -m 0750 -g adm /var/log/rootsentinel 2>/dev/null || install -d -m 0750 /var/log/rootsentinel
    if command -v systemctl >/dev/null 2>&1; then
        [ ! -d /run/systemd/system ] || systemctl daemon-reload >/dev/null 2>&1 || true
        systemctl enable {' '.join(TIMERS)} >/dev/null 2>&1 || true
        [ ! -d /run/systemd/system ] || systemctl start {' '.join(TIMERS)} >/dev/null 2>&1 || true
    fi
fi
exit 0
"""

PRERM = f"""\
#!/bin/sh
# RootSentinel prerm: stop and disable the timers before their units go
set -e
if [ "$1" = remove ] || [ "$1" = deconfigure ]; then
    if command -v systemctl >/dev/null 2>&1; then
        [ ! -d /run/systemd/system ] || systemctl stop {' '.join(TIMERS)} >/dev/null 2>&1 || true
        systemctl disable {' '.join(TIMERS)} >/dev/null 2>&1 || true
    fi
fi
exit 0
"""

PREINST = """\
#!/bin/sh
# RootSentinel preinst: remember the folders of this package that were here before and that no package owns
# (/etc/opt on a machine without Chrome): dpkg removes an empty folder it installed files into, so postrm puts
# these back and the machine is left as it was
set -e
if [ "$1" = install ]; then
    mkdir -p /var/lib/rootsentinel
    : > /var/lib/rootsentinel/preexisting-dirs
    for d in @DIRS@; do
        if [ -d "$d" ] && ! dpkg-query -S "$d" >/dev/null 2>&1; then echo "$d" >> /var/lib/rootsentinel/preexisting-dirs; fi
    done
fi
exit 0
"""

POSTRM = """\
#!/bin/sh
# RootSentinel postrm: put back the folders that were here before (preinst); on purge, the state, the audit log
# folder and the system config go too
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
    if [ -f /var/lib/rootsentinel/preexisting-dirs ]; then
        while read -r d; do [ -z "$d" ] || [ -d "$d" ] || install -d -m 0755 "$d"; done < /var/lib/rootsentinel/preexisting-dirs
    fi
fi
if [ "$1" = purge ]; then
    rm -rf /var/lib/rootsentinel /var/log/rootsentinel /etc/rootsentinel
fi
if [ "$1" = remove ] || [ "$1" = purge ]; then
    [ ! -d /run/systemd/system ] || systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
"""


def source_date_epoch() -> int:
    """``SOURCE_DATE_EPOCH`` if set, else the last commit's time, else 0 (seconds since the epoch)."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True,
                             text=True, check=True).stdout.strip()
        return int(out)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return 0


def _check_bundle(bundle: Path) -> Path:
    exe = bundle / "rootsentinel-host"
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        raise SystemExit(f"package_linux: {exe} is not an executable bundle; run 'make dist-host' first")
    return bundle


def _tar_filter(mtime: int):
    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = mtime
        if info.isdir() or info.mode & 0o111:
            info.mode = 0o755
        elif not info.issym():
            info.mode = 0o644
        return info
    return clean


def make_tarball(bundle: Path, out: Path) -> Path:
    """Write ``out/rootsentinel-host-linux-x86_64.tar.gz``: ``rootsentinel-host/`` with the bundle, root-owned.

    Raises:
        SystemExit: the bundle is missing.
    """
    bundle = _check_bundle(bundle)
    out.mkdir(parents=True, exist_ok=True)
    dest = out / TARBALL_NAME
    mtime = source_date_epoch()
    paths = sorted(bundle.rglob("*"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(bundle, arcname="rootsentinel-host", recursive=False, filter=_tar_filter(mtime))
        for p in paths:
            tar.add(p, arcname=f"rootsentinel-host/{p.relative_to(bundle)}", recursive=False,
                    filter=_tar_filter(mtime))
    with open(dest, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime, compresslevel=9) as gz:
        gz.write(buf.getvalue())
    return dest


def _put(stage: Path, target: PurePosixPath, text: str, mode: int = 0o644) -> Path:
    dest = stage / str(target).lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    dest.chmod(mode)
    return dest


def _cli_docs(stage: Path, docs: Path | None) -> None:
    """The man page and completions of ``build/cli_docs.py --out DIR`` (``DIR/man``, ``DIR/completion``), if made."""
    if docs is None:
        return
    man = docs / "man" / "rootsentinel.1"
    if man.is_file():
        dest = stage / "usr/share/man/man1/rootsentinel.1.gz"
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=source_date_epoch(),
                                                     compresslevel=9) as gz:
            gz.write(man.read_bytes())
    for name, target in (("rootsentinel.bash", "usr/share/bash-completion/completions/rootsentinel"),
                         ("_rootsentinel", "usr/share/zsh/vendor-completions/_rootsentinel")):
        src = docs / "completion" / name
        if src.is_file():
            _put(stage, PurePosixPath("/" + target), src.read_text("utf-8"))


def stage_deb(bundle: Path, stage: Path, extension_ids: list[str], docs: Path | None = None) -> None:
    """Lay out the package tree (files and ``DEBIAN/``) in ``stage``; ``docs``: the folder ``build/cli_docs.py``
    wrote (man page, completions), or None.

    Raises:
        SystemExit: the bundle is missing.
        native_host.install.model.InstallError: a malformed extension id.
    """
    bundle = _check_bundle(bundle)
    shutil.copytree(bundle, stage / str(HOST_EXE.parent).lstrip("/"), symlinks=True)
    (stage / "usr/bin").mkdir(parents=True, exist_ok=True)
    (stage / "usr/bin/rootsentinel").symlink_to(str(HOST_EXE))
    install(["all"], "system", "linux", Environment(home=PurePosixPath("/root")), host_path=str(HOST_EXE),
            extension_ids=extension_ids, root=stage)
    for unit in sorted((ROOT / "build" / "systemd").glob("rootsentinel-*")):
        _put(stage, UNIT_DIR / unit.name, unit.read_text("utf-8"))
    _put(stage, LOGROTATE, LOGROTATE_RULE)
    _cli_docs(stage, docs)
    size_kib = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    control = (f"Package: {PACKAGE}\nVersion: {__version__}\nArchitecture: amd64\n"
               "Maintainer: RootSentinel <rootsentinel@rootsentinel.io>\nSection: net\nPriority: optional\n"
               f"Installed-Size: {size_kib}\nDepends: libc6 (>= 2.31)\nRecommends: logrotate\n"
               "Description: HTTPS interception detector: native messaging host, scan and heartbeat timers\n"
               " The RootSentinel browser extension's native messaging host (a self-contained bundle in\n"
               " /opt/rootsentinel), its host manifests for Firefox, Chrome, Chromium, Edge and Brave, and\n"
               " systemd timers that scan the trust stores and send a heartbeat to the audit destinations.\n")
    _put(stage, PurePosixPath("/DEBIAN/control"), control)
    _put(stage, PurePosixPath("/DEBIAN/conffiles"), f"{LOGROTATE}\n")
    dirs = sorted("/" + str(p.relative_to(stage)) for p in stage.rglob("*")
                  if p.is_dir() and not p.is_symlink() and p.relative_to(stage).parts[0] != "DEBIAN")
    preinst = PREINST.replace("@DIRS@", " ".join(dirs))
    for name, text in (("preinst", preinst), ("postinst", POSTINST), ("prerm", PRERM), ("postrm", POSTRM)):
        _put(stage, PurePosixPath("/DEBIAN") / name, text, 0o755)
    mtime = source_date_epoch()
    for p in [stage, *stage.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
        os.utime(p, (mtime, mtime), follow_symlinks=False)


def make_deb(bundle: Path, out: Path, extension_ids: list[str], docs: Path | None = None, *,
             compression: str = "xz") -> Path:
    """Build ``out/rootsentinel_VERSION_amd64.deb`` with ``dpkg-deb --root-owner-group``; ``compression`` is
    ``dpkg-deb -Z`` (``xz`` for release, ``gzip`` is several times faster to build, for tests).

    Raises:
        SystemExit: the bundle or ``dpkg-deb`` is missing, or ``dpkg-deb`` failed (its message).
    """
    if not shutil.which("dpkg-deb"):
        raise SystemExit("package_linux: dpkg-deb not found (apt install dpkg)")
    out.mkdir(parents=True, exist_ok=True)
    dest = out / f"{PACKAGE}_{__version__}_amd64.deb"
    with tempfile.TemporaryDirectory(prefix="rootsentinel-deb-") as tmp:
        stage = Path(tmp) / "root"
        stage.mkdir()
        stage_deb(bundle, stage, extension_ids, docs)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch())}
        proc = subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(stage), str(dest)],
                              capture_output=True, text=True, env=env)
        if proc.returncode:
            raise SystemExit(f"package_linux: dpkg-deb failed: {proc.stderr.strip()}")
    return dest


def main(argv: list[str] | None = None) -> int:
    """CLI: ``tarball`` or ``deb``; prints the written file and its size."""
    p = argparse.ArgumentParser(prog="package_linux.py", description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=["tarball", "deb"])
    p.add_argument("--bundle", type=Path, default=ROOT / "dist" / "rootsentinel-host")
    p.add_argument("--out", type=Path, default=ROOT / "dist")
    p.add_argument("--extension-id", action="append", default=[], metavar="ID",
                   help="deb: Chromium extension id to allow in the host manifests (the CRX key's; repeatable)")
    p.add_argument("--docs", type=Path, metavar="DIR",
                   help="deb: the folder of build/cli_docs.py --out (man page, bash and zsh completion)")
    args = p.parse_args(argv)
    if args.kind == "tarball":
        dest = make_tarball(args.bundle, args.out)
    else:
        from native_host.install.model import InstallError

        try:
            dest = make_deb(args.bundle, args.out, args.extension_id, args.docs)
        except InstallError as exc:
            print(f"package_linux: {exc}", file=sys.stderr)
            return 3
    print(f"{dest}  {dest.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
