"""A real rsyslogd for tests, on its own ``/dev/log`` inside a private mount namespace.

``Rsyslog(folder)`` starts ``rsyslogd -n`` under ``unshare --mount --propagation private``: a tmpfs on
``/dev`` with the real device nodes bound back (so the machine's ``/dev/log``, if any, is never touched),
``imuxsock`` on ``/dev/log`` with the sender's credentials annotated (``$!uid``, ``$!pid``), optionally
``imtcp`` on a plain TCP port and on a TLS port (a trustme CA), each received message written as one
JSON record (program name, tag, APP-NAME, PROCID, MSGID, facility, severity, trusted uid/pid, message,
input) to ``folder/received.jsonl``. Its pid file, work folder and output stay in ``folder``. Commands run
inside its namespace with :meth:`Rsyslog.cmd`; :meth:`stop` ends its process group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"

_NS_SETUP = r"""
set -e
W="$1"; shift
mkdir -p "$W/realdev"
mount --bind /dev "$W/realdev"
mount -t tmpfs -o mode=0755,size=1m rootsentinel-test-dev /dev
for n in null zero full random urandom tty; do
  if [ -e "$W/realdev/$n" ]; then touch "/dev/$n"; mount --bind "$W/realdev/$n" "/dev/$n"; fi
done
for d in pts shm mqueue; do
  if [ -d "$W/realdev/$d" ]; then mkdir "/dev/$d"; mount --bind "$W/realdev/$d" "/dev/$d"; fi
done
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
umount "$W/realdev"
exec "$@"
"""


def available() -> str | None:
    """Why a namespaced rsyslogd cannot run here, or None when it can."""
    if os.name != "posix" or not os.path.exists(RSYSLOGD):
        return "rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls)"
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        return "needs root, unshare and nsenter for a private mount namespace"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TEMPLATE = """
template(name="rootsentinel_record" type="list" option.jsonf="on") {
  property(outname="programname" name="programname" format="jsonf")
  property(outname="syslogtag" name="syslogtag" format="jsonf")
  property(outname="appname" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="facility" name="syslogfacility-text" format="jsonf")
  property(outname="severity" name="syslogseverity-text" format="jsonf")
  property(outname="uid" name="$!uid" format="jsonf")
  property(outname="pid" name="$!pid" format="jsonf")
  property(outname="input" name="inputname" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}
"""


class Rsyslog:
    """See the module doc.

    Args:
        folder: a new folder for its config, pid file, work folder and output.
        tcp: also listen for plain TCP (octet-counted RFC 5424) on ``self.tcp_port``.
        tls: a ``trustme.CA``: also listen for TLS on ``self.tls_port`` with a certificate it issues for
            ``localhost``; its certificate is written to ``self.ca_file``.
        extra: more RainerScript appended to the config.
    """

    def __init__(self, folder: Path, *, tcp: bool = False, tls=None, extra: str = "") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "work").mkdir(exist_ok=True)
        self.out = self.folder / "received.jsonl"
        self.tcp_port = free_port() if tcp else None
        self.tls_port = free_port() if tls is not None else None
        lines = [f'global(workDirectory="{self.folder / "work"}" maxMessageSize="64k")',
                 'module(load="imuxsock" SysSock.Use="on" SysSock.Name="/dev/log" SysSock.Annotate="on" '
                 'SysSock.ParseTrusted="on" SysSock.UsePIDFromSystem="on" SysSock.RateLimit.Interval="0")']
        if tcp or tls is not None:
            lines.append('module(load="imtcp")')
        if tcp:
            lines.append(f'input(type="imtcp" port="{self.tcp_port}" address="127.0.0.1" name="tcp")')
        if tls is not None:
            cert, key = self.folder / "server.pem", self.folder / "server.key"
            leaf = tls.issue_cert("localhost")
            leaf.cert_chain_pems[0].write_to_path(str(cert))
            leaf.private_key_pem.write_to_path(str(key))
            self.ca_file = self.folder / "ca.pem"
            tls.cert_pem.write_to_path(str(self.ca_file))
            lines.append(f'global(defaultNetstreamDriverCAFile="{self.ca_file}" defaultNetstreamDriverCertFile="{cert}" '
                         f'defaultNetstreamDriverKeyFile="{key}")')
            lines.append(f'input(type="imtcp" port="{self.tls_port}" address="127.0.0.1" name="tls" '
                         'streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")')
        lines.append(TEMPLATE)
        lines.append(f'action(type="omfile" file="{self.out}" template="rootsentinel_record")')
        lines.append(extra)
        self.config = self.folder / "rsyslog.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> Rsyslog:
        check = subprocess.run([RSYSLOGD, "-N1", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"rsyslog config refused: {check.stderr or check.stdout}")
        self.stderr = open(self.folder / "rsyslogd.stderr", "wb")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _NS_SETUP, "ns-setup",
             str(self.folder), RSYSLOGD, "-n", "-f", str(self.config), "-i", str(self.folder / "rsyslogd.pid")],
            stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"rsyslogd did not start: {(self.folder / 'rsyslogd.stderr').read_text()}")
            time.sleep(0.05)
        return self

    @property
    def dev_log(self) -> str:
        """The namespace's ``/dev/log`` as a path this process can send to."""
        return f"/proc/{self.proc.pid}/root/dev/log"

    def ready(self) -> bool:
        if self.proc is None or not os.path.exists(self.dev_log):
            return False
        for port in (self.tcp_port, self.tls_port):
            if port is not None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                except OSError:
                    return False
        return True

    def cmd(self, argv: list[str], *, uid: int | None = None) -> list[str]:
        """``argv`` to run inside the namespace (as ``uid`` with ``setpriv`` when given)."""
        prefix = ["nsenter", "-t", str(self.proc.pid), "-m", "--"]
        if uid is not None:
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        return prefix + argv

    def records(self, n: int | None = None, timeout: float = 20.0, where=None) -> list[dict]:
        """The records received so far (waits until at least ``n`` match ``where``)."""
        deadline = time.monotonic() + timeout
        while True:
            recs = []
            if self.out.exists():
                for line in self.out.read_text("utf-8").splitlines():
                    if line.strip():
                        recs.append(json.loads(line))
            chosen = [r for r in recs if where is None or where(r)]
            if n is None or len(chosen) >= n or time.monotonic() > deadline:
                return chosen
            time.sleep(0.05)

    def hup(self) -> None:
        """SIGHUP: rsyslogd closes and reopens its output files (what logrotate's postrotate does)."""
        os.kill(self.proc.pid, signal.SIGHUP)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if getattr(self, "stderr", None):
            self.stderr.close()

    def __enter__(self) -> Rsyslog:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def body(record: dict) -> dict:
    """The JSON event a record carries (rsyslog keeps the space after the tag's colon in ``msg``)."""
    return json.loads(record["msg"])
