"""A real interception proxy for the tests: mitmproxy's ``mitmdump``, on 127.0.0.1 only.

mitmproxy is installed by ``make setup`` into a virtualenv of its own (``.venv-mitmproxy``: its pinned
dependencies differ from the project's), from the package registry. The tests use it two ways:

- :func:`mitmproxy_ca` makes a real mitmproxy CA (``mitmproxy-ca-cert.pem``, with its key in
  ``mitmproxy-ca.pem``), exactly as the product generates it on a user's machine on its first start;
- :class:`Mitmdump` runs the proxy (regular mode: an explicit HTTP proxy that answers CONNECT; or
  ``reverse:https://127.0.0.1:PORT``), and gives the port it listens on.

Facts used (mitmproxy docs, "Certificates" and "Modes of operation"): the CA is created in ``confdir``
on first start as ``mitmproxy-ca.pem`` (key + certificate) and ``mitmproxy-ca-cert.pem``; the subject is
``CN=mitmproxy, O=mitmproxy``; ``--ssl-insecure`` lets it reach an origin whose root it does not trust;
mitmdump prints ``HTTP(S) proxy listening at *:PORT.`` (or ``... listening at 127.0.0.1:PORT``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv-mitmproxy" / ("Scripts" if sys.platform == "win32" else "bin")

_LISTEN = re.compile(rb"listening at (?:\*|[0-9.]+|\[[0-9a-f:]+\]):(\d+)")


def mitmdump_binary() -> Path:
    """The ``mitmdump`` that ``make setup`` installed.

    Raises:
        pytest.UsageError (via :func:`pytest.fail`): it is missing (run ``make setup``); CI must never
            skip the interception tests silently.
    """
    path = VENV_BIN / "mitmdump"
    if not path.exists():
        pytest.fail(f"mitmproxy is not installed: run `make setup` (expected {path.relative_to(ROOT)})")
    return path


class Mitmdump:
    """``mitmdump`` on 127.0.0.1:<free port> in its own process group, ended on exit.

    Args:
        confdir: where its CA lives (created on the first start when missing).
        mode: ``"regular"`` (explicit proxy) or e.g. ``"reverse:https://127.0.0.1:8443"``.
        extra: more command-line arguments (e.g. ``["--ssl-insecure"]``).

    Attributes:
        port: the port it listens on, after ``__enter__``.
        ca_cert: ``confdir / "mitmproxy-ca-cert.pem"``.
    """

    def __init__(self, confdir: Path, mode: str = "regular", extra: list[str] | None = None,
                 timeout: float = 30.0) -> None:
        self.confdir = Path(confdir)
        self.confdir.mkdir(parents=True, exist_ok=True)
        self.mode = mode
        self.extra = list(extra or [])
        self.timeout = timeout
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.output = bytearray()

    @property
    def ca_cert(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    @property
    def ca_key_and_cert(self) -> Path:
        """mitmproxy's ``mitmproxy-ca.pem``: the CA's private key followed by its certificate."""
        return self.confdir / "mitmproxy-ca.pem"

    def __enter__(self) -> "Mitmdump":
        argv = [str(mitmdump_binary()), "--listen-host", "127.0.0.1", "--listen-port", "0",
                "--set", f"confdir={self.confdir}", "--mode", self.mode, *self.extra]
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        found = threading.Event()

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                self.output += line
                m = _LISTEN.search(line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while not found.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"mitmdump did not start: {bytes(self.output[-2000:]).decode(errors='replace')}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)


def mitmproxy_ca(confdir: Path) -> Path:
    """Start mitmdump once in ``confdir`` so that it generates its CA, stop it, and return the path of
    ``mitmproxy-ca-cert.pem`` (its key and certificate are in ``mitmproxy-ca.pem`` beside it)."""
    with Mitmdump(confdir) as proxy:
        pass
    if not proxy.ca_cert.exists():
        raise RuntimeError("mitmdump started but wrote no CA")
    return proxy.ca_cert
