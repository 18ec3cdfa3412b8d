"""Headless Chromium driven over the DevTools protocol, with the Chromium build of RootSentinel loaded
unpacked and the native host installed by ``rootsentinel install --browser chromium``, in a throw-away
HOME (e2e-recipe.md, "Chromium"; browser-apis.md 5).

- Trust: ``certutil -A -d sql:$HOME/.pki/nssdb -t C,,`` per root (Chromium on Linux reads the user's
  NSS db).
- Host manifest: the installer writes ``$XDG_CONFIG_HOME/chromium/NativeMessagingHosts/`` (chromium
  ``DIR_USER_NATIVE_MESSAGING`` = ``<user-data-dir>/NativeMessagingHosts``), so the browser runs with
  ``--user-data-dir=$XDG_CONFIG_HOME/chromium``: the default place of a real user, in a fresh HOME.
  ``allowed_origins`` lists the id fixed by the manifest ``key`` (native_host/install/extension_ids.py).
- Driving: ``--remote-debugging-port=0``, the browser websocket from ``DevTools listening on`` on
  stderr, ``Target.attachToTarget {flatten: true}`` on the extension's service worker, and
  ``Runtime.evaluate`` there: ``chrome.tabs.create`` / ``chrome.tabs.update`` navigate, and
  ``chrome.action.getBadgeText({tabId})`` reads the badge back. No chromedriver, no puppeteer.
- The page's own tab is never attached by this client, so the extension's ``chrome.debugger`` is
  the only debugger on it (debugger mode).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from browser import POPUP_FIELDS, REPO, BrowserSession, WebSocketClient, install_host, poll, trust_roots
from browser import build_extension as _build

sys.path.insert(0, str(REPO))
from native_host.install.extension_ids import CHROMIUM_UNPACKED_ID  # noqa: E402

EXTENSION_ID = CHROMIUM_UNPACKED_ID

# docs/reference/e2e-recipe.md: no network beyond 127.0.0.1, no first-run UI.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-default-browser-check", "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"]


def chromium_binary() -> str | None:
    """The Chromium to drive: ``$ROOTSENTINEL_CHROMIUM``, Debian's real binary, or ``chromium`` on PATH."""
    env = os.environ.get("ROOTSENTINEL_CHROMIUM")
    if env:
        return env
    real = Path("/usr/lib/chromium/chromium")
    if real.exists():
        return str(real)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def build_extension(out: Path, with_debugger: bool = False) -> Path:
    """Assembles the Chromium build (``--with-debugger``: the debugger build) with build/build_extension.mjs."""
    return _build("chromium", out, *(["--with-debugger"] if with_debugger else []))


class CDPError(RuntimeError):
    """A DevTools command answered with an error, or an evaluation threw."""


class CDP(WebSocketClient):
    """A minimal synchronous DevTools client on the browser endpoint; sessions by ``sessionId``."""

    protocol = "CDP"

    def cmd(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        msg = {"method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        reply = self._exchange(method, msg, timeout)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply["result"]


class Chromium(BrowserSession):
    """One headless Chromium with RootSentinel's Chromium build loaded. Use as a context manager.

    Args:
        trust: PEM files of roots to trust (``certutil -t C,,`` in ``$HOME/.pki/nssdb``).
        host: ``"installed"`` (``rootsentinel install --browser chromium`` in the temp HOME) or None.
        local_settings: values written to the extension's storage.local once it runs.
        extra_flags: more command-line switches.
        debugger_build: load the build with the ``debugger`` permission (debugger mode).
        host_config: the host's system configuration (native_host/enterprise/config.py), written to a temp file
            that ``ROOTSENTINEL_CONFIG`` names; the host inherits the browser's environment.
    """

    name = "Chromium"
    remote = "DevTools"
    listening = r"DevTools listening on (ws://\S+)"
    api = "chrome"
    badge_timeout = 30.0

    def __init__(self, *, trust: list[Path] = (), host: str | None = "installed", local_settings: dict | None = None,
                 extra_flags: list[str] = (), debugger_build: bool = False, host_config: dict | None = None):
        super().__init__(binary=chromium_binary(), trust=trust, host=host, local_settings=local_settings,
                         tmp_prefix="rs-e2e-chromium-")
        self.debugger_build = debugger_build
        self.host_config = host_config
        self.extra_flags = list(extra_flags)
        self.config = self.home / ".config"
        self.user_data_dir = self.config / "chromium"
        self.sw_session: str | None = None
        self.env: dict[str, str] = {}

    @property
    def cdp(self) -> CDP | None:
        return self.client

    # --- setup -------------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.user_data_dir.mkdir(parents=True)
        build_extension(self.ext_dir, self.debugger_build)
        self.env = {**os.environ, "HOME": str(self.home), "XDG_CONFIG_HOME": str(self.config),
                    "XDG_CACHE_HOME": str(self.home / ".cache"), "XDG_DATA_HOME": str(self.home / ".local" / "share")}
        if self.host_config is not None:
            config = self.tmp / "rootsentinel-config.json"
            config.write_text(json.dumps(self.host_config))
            self.env["ROOTSENTINEL_CONFIG"] = str(config)
        nssdb = self.home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        trust_roots(nssdb, self.trust)
        if self.host_mode == "installed":
            install_host("chromium", self.env)  # the user-level manifest of Chromium

    def doctor(self) -> subprocess.CompletedProcess:
        """``rootsentinel doctor --browser chromium`` in this browser's HOME."""
        return subprocess.run([sys.executable, "-m", "native_host", "doctor", "--browser", "chromium"],
                              capture_output=True, text=True, cwd=REPO, env=self.env, timeout=60)

    def _launch(self) -> None:
        args = [self.binary, *FLAGS, *self.extra_flags, f"--user-data-dir={self.user_data_dir}",
                f"--load-extension={self.ext_dir}", f"--disable-extensions-except={self.ext_dir}",
                "--remote-debugging-port=0", "about:blank"]
        ws_url = self._start(args, self.env)
        self.client = CDP(ws_url)
        self.sw_session = self._attach_worker()
        if self.local_settings:
            self.evaluate(f"chrome.storage.local.set({json.dumps(self.local_settings)}).then(() => true)")
        if self.host_mode is not None:
            self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        """Waits until the background has its settings and the host's hello (Chromium answers
        storage.managed only once its policy service is up, a few seconds after start), and, in
        debugger mode, until the debugger is on."""
        deadline = time.monotonic() + timeout
        check = ("(() => { const r = globalThis.rootSentinel; const s = r?.sentinel.settings;"
                 " return Boolean(s && r.sentinel.host.status().hello"
                 " && (s.capture !== 'debugger' || r.capture.dbg.active)); })()")
        while time.monotonic() < deadline:
            if self.evaluate(check):
                return
            time.sleep(0.1)
        raise TimeoutError("the background did not get ready:\n" + "\n".join(self.stderr_lines[-20:]))

    def _attach_worker(self, timeout: float = 30) -> str:
        """Attaches to the extension's service worker target (waiting for it to start)."""
        prefix = f"chrome-extension://{EXTENSION_ID}/"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t in self.cdp.cmd("Target.getTargets")["targetInfos"]:
                if t["type"] == "service_worker" and t["url"].startswith(prefix):
                    session = self.cdp.cmd("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True})["sessionId"]
                    # The worker's script may still be starting: wait until the extension API is there.
                    while time.monotonic() < deadline:
                        try:
                            if self.evaluate("typeof chrome === 'object' && typeof chrome.tabs === 'object'", session=session):
                                return session
                        except (CDPError, TimeoutError):
                            pass
                        time.sleep(0.1)
            time.sleep(0.2)
        raise RuntimeError("the extension's service worker did not start (id mismatch?):\n"
                           + "\n".join(self.stderr_lines[-30:]))

    def restart_worker(self) -> None:
        """Stops the service worker (as Chrome does when it idles: ServiceWorker.stopAllWorkers from
        an extension page) and attaches to the new one, which the next extension event starts."""
        # Chrome stops a worker after 30 s idle; by then its coalesced tab-state write (at most
        # PERSIST_DELAY_MS after a change) has landed, on its own timer (no flush here)
        poll(lambda: self.evaluate("rootSentinel.sentinel.tabs.timer === null"
                                   " && rootSentinel.sentinel.tabs.dirtyStates.size === 0"), bool, 10, 0.1)
        self.evaluate("chrome.storage.session.get(null).then(() => true)")
        old = self._worker_target()
        target, session = self.open_page("options/options.html")
        self.cdp.cmd("ServiceWorker.enable", session=session)
        self.cdp.cmd("ServiceWorker.stopAllWorkers", session=session)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
                t["targetId"] == old for t in self.cdp.cmd("Target.getTargets")["targetInfos"]):
            time.sleep(0.1)
        if any(t["targetId"] == old for t in self.cdp.cmd("Target.getTargets")["targetInfos"]):
            raise RuntimeError("the service worker did not stop")
        self.sw_session = None
        # an event for the extension starts the worker again: a message from its own page
        self.evaluate("chrome.runtime.sendMessage({type: 'ping'}).catch(() => null).then(() => true)", session=session)
        self.sw_session = self._attach_worker()
        self.cdp.cmd("Target.closeTarget", {"targetId": target})

    def _worker_target(self) -> str:
        prefix = f"chrome-extension://{EXTENSION_ID}/"
        for t in self.cdp.cmd("Target.getTargets")["targetInfos"]:
            if t["type"] == "service_worker" and t["url"].startswith(prefix):
                return t["targetId"]
        raise RuntimeError("no service worker")

    # --- driving ------------------------------------------------------------------------------------------

    def evaluate(self, expression: str, session: str | None = None, user_gesture: bool = False):
        """Evaluates ``expression`` (awaiting a promise) in the service worker or a session; returns its value."""
        res = self.cdp.cmd("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True,
                                                "userGesture": user_gesture},
                           session=session or self.sw_session, timeout=60)
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise CDPError(f"script exception: {d.get('exception', {}).get('description') or d.get('text')}")
        return res["result"].get("value")

    def new_tab(self, url: str = "about:blank") -> int:
        """Opens a tab through the extension API; returns its tab id. In debugger mode, waits until
        the extension's debugger is attached to it, as it is for a tab a user opened a while ago
        (a navigation that starts before the attach is judged by the probe instead)."""
        tab = self.evaluate(f"chrome.tabs.create({{url: {json.dumps(url)}, active: true}}).then(t => t.id)")
        if self.evaluate("Boolean(globalThis.rootSentinel?.capture?.dbg.active)"):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not self.evaluate(f"rootSentinel.capture.dbg.isAttached({tab})"):
                time.sleep(0.05)
        return tab

    def navigate(self, tab_id: int, url: str, timeout: float = 30) -> None:
        """Loads ``url`` in a tab and waits until the tab reports ``complete`` (error pages included)."""
        self.evaluate(f"chrome.tabs.update({tab_id}, {{url: {json.dumps(url)}}}).then(() => true)")
        deadline = time.monotonic() + timeout
        time.sleep(0.2)
        while time.monotonic() < deadline:
            status = self.evaluate(f"chrome.tabs.get({tab_id}).then(t => t.status)")
            if status == "complete":
                return
            time.sleep(0.1)

    def open_page(self, path: str) -> tuple[str, str]:
        """Opens ``chrome-extension://<id>/<path>`` in a new target; returns (targetId, sessionId)."""
        target = self.cdp.cmd("Target.createTarget", {"url": f"chrome-extension://{EXTENSION_ID}/{path}"})["targetId"]
        session = self.cdp.cmd("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.evaluate("document.body?.dataset.ready === '1'", session=session) is True:
                    break
            except CDPError:
                pass
            time.sleep(0.1)
        return target, session

    def popup(self, tab_id: int) -> dict:
        """Opens the popup page for a tab and returns what it shows, as text (the worker's pending
        tab-state write flushed first, as in :meth:`tab_state`: the popup reads storage.session)."""
        self.evaluate("rootSentinel.sentinel.tabs.flush().then(() => true)")
        target, session = self.open_page(f"popup/popup.html?tab={tab_id}")
        try:
            return json.loads(self.evaluate("JSON.stringify({" + POPUP_FIELDS + "})", session=session))
        finally:
            self.cdp.cmd("Target.closeTarget", {"targetId": target})

    def tab_state(self, tab_id: int) -> dict | None:
        """The tab state the background keeps in storage.session (written at most 1 s after a change:
        tabstate.js PERSIST_DELAY_MS; the worker's pending write is flushed first)."""
        return self.evaluate(f"rootSentinel.sentinel.tabs.flush().then(() => chrome.storage.session.get('tab:{tab_id}'))"
                             f".then(d => d['tab:{tab_id}']?.state ?? null)")
