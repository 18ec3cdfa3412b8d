"""A lean client for a native-messaging host over real pipes (the same code drives the real host and the
echo host, so client costs cancel out in ratios)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

from bench._common import REPO

HEADER = struct.Struct("=I")
HOST_ARGV = [sys.executable, "-m", "native_host", "host"]
ECHO_ARGV = [sys.executable, str(REPO / "bench" / "echo_host.py")]


def frame(obj) -> bytes:
    payload = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(payload)) + payload


class Peer:
    """One host process with pipes; ``roundtrip(frame)`` writes a frame and reads one reply frame."""

    def __init__(self, argv: list[str], env: dict | None = None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=REPO, env=env, bufsize=0)
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        self.buf = b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.wfd, view):]

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise EOFError("host closed its stdout")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self) -> bytes:
        (n,) = HEADER.unpack(self._read(4))
        return self._read(n)

    def roundtrip(self, data: bytes) -> bytes:
        self.write(data)
        return self.read_frame()

    def status(self) -> dict[str, str]:
        """/proc/<pid>/status as a dict (VmHWM = peak RSS, VmRSS = current RSS)."""
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            out[key] = value.strip()
        return out

    def close(self) -> int:
        self.proc.stdin.close()
        self.proc.stdout.read()
        return self.proc.wait(30)


def kib(value: str) -> float:
    """'12345 kB' -> MiB."""
    return int(value.split()[0]) / 1024
