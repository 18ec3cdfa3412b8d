"""What the Firefox (tests/e2e/firefox.py) and Chromium (tests/e2e/chromium.py) sessions share: a
throw-away directory, the browser process in its own process group (its remote-debugging websocket
read from stderr), a minimal synchronous JSON websocket client, NSS trust, the installed host, and
reading the badge back through the extension's action API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, TypeVar

from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[2]
HOST_NAME = "io.rootsentinel.host"

T = TypeVar("T")


def poll(read: Callable[[], T], done: Callable[[T], bool], timeout: float, interval: float = 0.2) -> T:
    """Calls ``read()`` until ``done(value)`` holds or ``timeout`` seconds passed; returns the last value."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(interval)
        value = read()
    return value


def settled(badge: dict) -> bool:
    """The badge left the initial and the checking states."""
    return badge["text"] not in ("", "…")


def write_root(issuer, certdir: Path, stem: str) -> Path:
    """Writes a root (a tests/e2e/pki.py Issuer) as ``<stem>.root.pem`` to trust it in a browser."""
    path = certdir / f"{stem}.root.pem"
    path.write_bytes(issuer.pem())
    return path


def build_extension(browser: str, out: Path, *flags: str) -> Path:
    """Assembles the extension for ``browser`` with build/build_extension.mjs (node) into ``out``."""
    subprocess.run(["node", str(REPO / "build" / "build_extension.mjs"), browser, "--out", str(out), *flags],
                   check=True, capture_output=True)
    return out


def trust_roots(nssdb: Path, roots: list[Path]) -> None:
    """Creates the NSS database ``nssdb`` and trusts each root PEM in it for TLS (``certutil -t C,,``)."""
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, capture_output=True)
    for i, pem in enumerate(roots):
        subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", f"rs-test-root-{i}", "-t", "C,,", "-i", str(pem)],
                       check=True, capture_output=True)


def install_host(browser: str, env: dict[str, str]) -> None:
    """What a user does (native_host/install/): ``rootsentinel install --browser <browser>`` in ``env``'s HOME."""
    subprocess.run([sys.executable, "-m", "native_host", "install", "--browser", browser], check=True,
                   capture_output=True, cwd=REPO, env=env)


class WebSocketClient:
    """A minimal synchronous JSON-over-websocket command client: commands by id, events ignored."""

    protocol = "websocket"

    def __init__(self, url: str):
        self._connection = connect(url, max_size=64 * 1024 * 1024, open_timeout=30)
        self.ws = self._connection.__enter__()
        self.next_id = 0

    def _exchange(self, method: str, message: dict, timeout: float) -> dict:
        """Sends ``message`` under a new id and returns the reply with that id."""
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, **message}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.protocol} {method} timed out")
            reply = json.loads(self.ws.recv(timeout=remaining))
            if reply.get("id") == mid:
                return reply

    def close(self) -> None:
        try:
            self._connection.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 (closing a dead socket)
            pass


class BrowserSession:
    """One headless browser with RootSentinel, in a throw-away directory. Use as a context manager.

    Subclasses set ``name``, ``remote`` (the protocol's name), ``listening`` (the stderr line that
    gives the websocket URL), ``api`` (``browser`` or ``chrome``) and ``badge_timeout``, and define
    ``_prepare()``, ``_launch()`` and ``evaluate()``; ``self.client`` is their websocket client,
    closed with the session.
    """

    name = "browser"
    remote = "its remote protocol"
    listening = ""
    api = "browser"
    badge_timeout = 20.0

    def __init__(self, *, binary: str | None, trust: list[Path], host: str | None, local_settings: dict | None,
                 tmp_prefix: str):
        self.binary = binary
        self.trust = list(trust)
        self.host_mode = host
        self.local_settings = local_settings
        self.tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix))
        self.home = self.tmp / "home"
        self.ext_dir = self.tmp / "extension"
        self.proc: subprocess.Popen | None = None
        self.client: WebSocketClient | None = None
        self.stderr_lines: list[str] = []

    def _prepare(self) -> None:
        raise NotImplementedError

    def _launch(self) -> None:
        raise NotImplementedError

    def evaluate(self, expression: str):
        raise NotImplementedError

    def _start(self, args: list[str], env: dict[str, str]) -> str:
        """Starts the browser in its own process group; returns the websocket URL it prints on stderr."""
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        ws_url = None
        found = threading.Event()

        def pump():
            nonlocal ws_url
            for line in self.proc.stderr:
                self.stderr_lines.append(line.rstrip("\n"))
                m = re.search(self.listening, line)
                if m and not found.is_set():
                    ws_url = m.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(60):
            raise RuntimeError(f"{self.name} did not start {self.remote}:\n" + "\n".join(self.stderr_lines[-30:]))
        return ws_url

    def __enter__(self):
        try:
            self._prepare()
            self._launch()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client:
            self.client.close()
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def badge(self, tab_id: int) -> dict:
        """Badge text, colour and tooltip of a tab, read through the action API of the extension."""
        api = self.api
        return json.loads(self.evaluate(
            f"Promise.all([{api}.action.getBadgeText({{tabId: {tab_id}}}),"
            f" {api}.action.getBadgeBackgroundColor({{tabId: {tab_id}}}),"
            f" {api}.action.getTitle({{tabId: {tab_id}}})])"
            ".then(([text, color, title]) => JSON.stringify({text, color, title}))"))

    def wait_badge(self, tab_id: int, predicate, timeout: float | None = None) -> dict:
        """Polls the badge until ``predicate(badge)`` holds; returns the last badge either way."""
        return poll(lambda: self.badge(tab_id), predicate, self.badge_timeout if timeout is None else timeout)


POPUP_FIELDS = """
    level: document.getElementById('level').textContent,
    kind: document.getElementById('kind')?.textContent ?? '',
    verdictLevel: document.getElementById('verdict').dataset.level,
    explanation: document.getElementById('explanation').textContent,
    more: document.getElementById('more').textContent,
    evidence: document.getElementById('evidence').textContent,
    route: document.getElementById('route')?.textContent ?? '',
    origins: [...document.querySelectorAll('#origins li')].map(li => ({
        origin: li.querySelector('.origin-name').textContent, level: li.dataset.level,
        root: li.querySelector('.origin-root').textContent})),
    chain: [...document.querySelectorAll('#chain li.cert')].map(li => ({
        subject: li.querySelector('.subject .value').textContent,
        name: li.querySelector('.subject-name .value')?.textContent ?? '',
        publicRoot: li.querySelector('.public-root')?.textContent ?? '',
        issuer: li.querySelector('.issuer .value').textContent,
        matched: li.classList.contains('matched'),
        text: li.textContent})),
    hostStatus: document.getElementById('host-status').textContent,
    hostVersion: document.getElementById('host-version')?.textContent ?? '',
    acknowledge: (() => { const b = document.getElementById('acknowledge'); return b ? {
        hidden: b.hidden, button: !!b.querySelector('.ack-ask'), text: b.textContent} : null; })(),
    height: document.body.scrollHeight,
    advice: (() => { const a = document.getElementById('advice'); return a ? {
        hidden: a.hidden, kind: a.dataset.kind ?? null,
        means: a.querySelector('.advice-means')?.textContent ?? '',
        steps: [...a.querySelectorAll('.advice-steps > li')].map(li => li.querySelector('span').textContent),
        codes: [...a.querySelectorAll('code')].map(c => c.textContent),
        guide: a.querySelector('a.guide-link')?.href ?? null, text: a.textContent} : null; })(),
    chainOpen: document.getElementById('chain-details')?.open ?? null,
"""
"""What both sessions read from the popup page (inside a JavaScript object literal)."""
