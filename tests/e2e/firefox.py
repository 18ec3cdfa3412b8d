"""Headless Firefox ESR driven over WebDriver BiDi, with the extension installed and the native host
reachable, in a throw-away HOME and profile (e2e-recipe.md, "Firefox").

- Trust: ``certutil -A -d sql:<profile> -t C,,`` per root (NSS ``libnss3-tools``).
- Host manifest: ``$HOME/.mozilla/native-messaging-hosts/io.rootsentinel.host.json`` with
  ``allowed_extensions`` = the gecko id (MDN Native_manifests); the host is a small executable
  wrapper that runs ``<python> -m native_host host``.
- Managed storage: ``$HOME/.mozilla/managed-storage/<id>.json`` (MDN Native_manifests, "Managed
  storage manifests").
- The extension's moz-extension UUID is fixed with the pref ``extensions.webextensions.uuids``, so
  tests open ``moz-extension://<uuid>/popup/popup.html?tab=<id>`` and evaluate
  ``browser.action.getBadgeText`` there.
- BiDi: ``session.new``, ``webExtension.install {type: "path"}``, ``browsingContext.navigate``,
  ``script.evaluate``, ``browsingContext.captureScreenshot`` (https://w3c.github.io/webdriver-bidi/).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import sys
import time
import uuid
from pathlib import Path

from browser import HOST_NAME, POPUP_FIELDS, REPO, BrowserSession, WebSocketClient, install_host, poll, trust_roots
from browser import build_extension as _build

EXTENSION_ID = "rootsentinel@rootsentinel.io"


def firefox_binary() -> str | None:
    """The Firefox to drive: ``$ROOTSENTINEL_FIREFOX`` or ``firefox-esr``/``firefox`` on PATH."""
    return os.environ.get("ROOTSENTINEL_FIREFOX") or shutil.which("firefox-esr") or shutil.which("firefox")


def build_extension(out: Path) -> Path:
    """Assembles the Firefox build with build/build_extension.mjs (node) into ``out``."""
    return _build("firefox", out)


class BiDiError(RuntimeError):
    """A BiDi command answered with an error."""


class BiDi(WebSocketClient):
    """A minimal synchronous WebDriver BiDi client: commands by id, events ignored."""

    protocol = "BiDi"

    def cmd(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        msg = self._exchange(method, {"method": method, "params": params or {}}, timeout)
        if msg.get("type") == "error" or "error" in msg and msg.get("type") != "success":
            raise BiDiError(f"{method}: {msg.get('error')}: {msg.get('message')}")
        return msg["result"]


class Firefox(BrowserSession):
    """One headless Firefox with RootSentinel installed. Use as a context manager.

    Args:
        trust: PEM files of roots to trust in the profile (``certutil -t C,,``).
        host: ``"real"`` (wrapper running ``python -m native_host host``), ``"missing"`` (the host
            manifest points to a file that does not exist), ``"crash"`` (the host exits at once),
            ``"installed"`` (written by ``rootsentinel install --browser firefox`` in the temp HOME) or
            ``None`` (no host manifest).
        locale: ``intl.locale.requested`` (e.g. ``"ru"``), or None for the default.
        managed: contents of the managed storage manifest's ``data`` (enterprise policy), or None.
        local_settings: values written to the extension's storage.local before pages load.
        prefs: more ``user.js`` preferences (e.g. an explicit proxy), applied after the defaults.
    """

    name = "Firefox"
    remote = "BiDi"
    listening = r"WebDriver BiDi listening on (ws://\S+)"
    api = "browser"
    badge_timeout = 20.0

    def __init__(self, *, trust: list[Path] = (), host: str | None = "real", locale: str | None = None,
                 managed: dict | None = None, local_settings: dict | None = None, prefs: dict | None = None):
        super().__init__(binary=firefox_binary(), trust=trust, host=host, local_settings=local_settings,
                         tmp_prefix="rs-e2e-")
        self.locale = locale
        self.managed = managed
        self.extra_prefs = dict(prefs or {})
        self.profile = self.tmp / "profile"
        self.uuid = str(uuid.uuid4())
        self.host_log = self.tmp / "host.stderr.log"

    @property
    def bidi(self) -> BiDi | None:
        return self.client

    # --- setup -------------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.home.mkdir()
        self.profile.mkdir()
        build_extension(self.ext_dir)
        trust_roots(self.profile, self.trust)
        prefs = {
            "extensions.webextensions.uuids": json.dumps({EXTENSION_ID: self.uuid}),
            "network.http.http3.enable": False,
            "browser.shell.checkDefaultBrowser": False,
            "browser.startup.homepage_override.mstone": "ignore",
            "browser.aboutwelcome.enabled": False,
            "datareporting.policy.dataSubmissionEnabled": False,
            "toolkit.telemetry.reportingpolicy.firstRun": False,
            "app.update.enabled": False,
            "app.normandy.enabled": False,
            "extensions.update.enabled": False,
            "browser.safebrowsing.malware.enabled": False,
            "browser.safebrowsing.phishing.enabled": False,
            "network.captive-portal-service.enabled": False,
            "network.connectivity-service.enabled": False,
            "browser.newtabpage.enabled": False,
            "browser.startup.page": 0,
            "security.OCSP.enabled": 0,
            "security.remote_settings.crlite_filters.enabled": False,
            "services.settings.server": "http://127.0.0.1:9/",
            "network.proxy.type": 0,
            "xpinstall.signatures.required": False,
        }
        if self.locale:
            prefs["intl.locale.requested"] = self.locale
        prefs.update(self.extra_prefs)
        lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in prefs.items()]
        (self.profile / "user.js").write_text("\n".join(lines) + "\n")

        moz = self.home / ".mozilla"
        if self.host_mode == "installed":
            install_host("firefox", {**os.environ, "HOME": str(self.home)})
        elif self.host_mode is not None:
            hosts = moz / "native-messaging-hosts"
            hosts.mkdir(parents=True)
            if self.host_mode == "real":
                path = self._host_wrapper(
                    f"cd {json.dumps(str(REPO))} || exit 1\n"
                    f"exec {json.dumps(sys.executable)} -m native_host host \"$@\" 2>>{json.dumps(str(self.host_log))}\n")
            elif self.host_mode == "crash":
                path = self._host_wrapper("echo 'host crashed on purpose' >&2\nexit 70\n")
            else:
                path = str(self.tmp / "does-not-exist" / "rootsentinel-host")
            (hosts / f"{HOST_NAME}.json").write_text(json.dumps({
                "name": HOST_NAME, "description": "RootSentinel test host", "path": path, "type": "stdio",
                "allowed_extensions": [EXTENSION_ID]}))
        if self.managed is not None:
            managed_dir = moz / "managed-storage"
            managed_dir.mkdir(parents=True)
            (managed_dir / f"{EXTENSION_ID}.json").write_text(json.dumps({
                "name": EXTENSION_ID, "description": "RootSentinel test policy", "type": "storage",
                "data": self.managed}))

    def _host_wrapper(self, script: str) -> str:
        """Writes the executable ``sh`` script the host manifest points to; returns its path."""
        wrapper = self.tmp / "rootsentinel-host"
        wrapper.write_text("#!/bin/sh\n" + script)
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return str(wrapper)

    def _launch(self) -> None:
        env = {**os.environ, "HOME": str(self.home), "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1",
               "XDG_CONFIG_HOME": str(self.home / ".config"), "XDG_CACHE_HOME": str(self.home / ".cache")}
        ws_url = self._start([self.binary, "--headless", "--no-remote", "--profile", str(self.profile),
                              "--remote-debugging-port", "0", "--remote-allow-system-access"], env)
        self.client = BiDi(ws_url.rstrip("/") + "/session")
        self.bidi.cmd("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": False}}})
        result = self.bidi.cmd("webExtension.install", {"extensionData": {"type": "path", "path": str(self.ext_dir)}})
        assert result["extension"] == EXTENSION_ID, result
        tree = self.bidi.cmd("browsingContext.getTree", {})
        self.context = tree["contexts"][0]["context"]
        if self.local_settings:
            self.open_extension_page("options/options.html")
            self.evaluate(f"browser.storage.local.set({json.dumps(self.local_settings)}).then(() => true)")

    # --- driving ------------------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"moz-extension://{self.uuid}/"

    def navigate(self, url: str, context: str | None = None, wait: str = "complete") -> dict:
        """Loads ``url`` in a tab (the first one by default). Navigation errors are tolerated, since a
        certificate error page or an enforce-mode redirect is itself what some tests look at."""
        try:
            return self.bidi.cmd("browsingContext.navigate", {"context": context or self.context, "url": url, "wait": wait},
                                 timeout=60)
        except BiDiError as e:
            return {"error": str(e)}

    def new_tab(self) -> str:
        return self.bidi.cmd("browsingContext.create", {"type": "tab", "background": True})["context"]

    def open_extension_page(self, path: str, context: str | None = None) -> str:
        """Opens ``moz-extension://<uuid>/<path>`` in ``context`` (a new tab by default)."""
        ctx = context or getattr(self, "_ext_ctx", None) or self.new_tab()
        self._ext_ctx = ctx
        self.navigate(self.base + path, context=ctx)
        return ctx

    def evaluate(self, expression: str, context: str | None = None):
        """Evaluates ``expression`` (awaiting a promise) in a context; returns a plain value."""
        res = self.bidi.cmd("script.evaluate", {
            "expression": expression, "target": {"context": context or self._ext_ctx},
            "awaitPromise": True, "resultOwnership": "none",
            "serializationOptions": {"maxDomDepth": 0}})
        if res.get("type") == "exception":
            raise BiDiError(f"script exception: {res['exceptionDetails'].get('text')}")
        return _plain(res["result"])

    def tab_id(self, url_prefix: str) -> int:
        """The WebExtension tab id of the tab whose URL starts with ``url_prefix``."""
        self.open_extension_page("popup/popup.html?tab=0")
        tabs = self.evaluate("browser.tabs.query({}).then(ts => JSON.stringify(ts.map(t => [t.id, t.url])))")
        for tid, url in json.loads(tabs):
            if url and url.startswith(url_prefix):
                return tid
        raise AssertionError(f"no tab at {url_prefix}: {tabs}")

    def open_popup(self, tab_id: int) -> str:
        """Opens the popup page for a tab and waits (10 s at most) until it has rendered; returns its context."""
        ctx = self.open_extension_page(f"popup/popup.html?tab={tab_id}")
        poll(lambda: self.evaluate("document.body.dataset.ready === '1'"), lambda ready: ready is True, 10, 0.1)
        return ctx

    def popup(self, tab_id: int) -> dict:
        """Opens the popup page for a tab and returns what it shows, as text."""
        self.open_popup(tab_id)
        return json.loads(self.evaluate("JSON.stringify({" + POPUP_FIELDS + """
            chainHidden: document.getElementById('chain-section').hidden,
            fromCache: !document.getElementById('from-cache').hidden,
            retryShown: !document.getElementById('retry-host').hidden,
            images: document.images.length,
            bodyText: document.body.innerText,
        })"""))

    def screenshot(self, context: str | None = None) -> bytes:
        data = self.bidi.cmd("browsingContext.captureScreenshot", {"context": context or self._ext_ctx})["data"]
        return base64.b64decode(data)

    def current_url(self, context: str | None = None) -> str:
        tree = self.bidi.cmd("browsingContext.getTree", {"root": context or self.context})
        return tree["contexts"][0]["url"]


def _plain(value: dict):
    """Converts a BiDi RemoteValue of a primitive into Python."""
    t = value.get("type")
    if t in ("string", "number", "boolean"):
        return value["value"]
    if t in ("undefined", "null"):
        return None
    return value


# --- screenshots ----------------------------------------------------------------------------------------

ACTION_WIDGET = "rootsentinel_rootsentinel_io-browser-action"
"""CustomizableUI id of the extension's toolbar button: makeWidgetId(gecko id) + "-browser-action"
(browser/components/extensions/ExtensionPopups.sys.mjs / parent/ext-browserAction.js)."""


def _chrome_context(ff: Firefox) -> str:
    tree = ff.bidi.cmd("browsingContext.getTree", {"moz:scope": "chrome"})
    return tree["contexts"][0]["context"]


def chrome_evaluate(ff: Firefox, expression: str):
    """Evaluates in the browser window's chrome realm (needs --remote-allow-system-access)."""
    res = ff.bidi.cmd("script.evaluate", {"expression": expression, "target": {"context": _chrome_context(ff)},
                                          "awaitPromise": True, "resultOwnership": "none"})
    if res.get("type") == "exception":
        raise BiDiError(f"chrome script exception: {res['exceptionDetails'].get('text')}")
    return _plain(res["result"])


def pin_action(ff: Firefox) -> None:
    """Puts the extension's button on the navigation toolbar, where its badge is visible."""
    chrome_evaluate(ff, f'CustomizableUI.addWidgetToArea("{ACTION_WIDGET}", CustomizableUI.AREA_NAVBAR); true')


def badge_and_popup_screenshot(ff: Firefox, tab_id: int) -> bytes:
    """A PNG of the real toolbar (with the badge) above the popup page for ``tab_id``, placed under
    the button as Firefox shows it. Headless Firefox cannot capture chrome contexts over BiDi, so the
    toolbar is drawn with CanvasRenderingContext2D.drawWindow in the chrome realm and the popup page
    (opened in a tab) with browsingContext.captureScreenshot; the two are composed in a canvas."""
    ctx = ff.open_popup(tab_id)
    width, height = json.loads(ff.evaluate(
        "JSON.stringify([document.body.scrollWidth, document.body.scrollHeight])"))
    popup_png = ff.bidi.cmd("browsingContext.captureScreenshot", {
        "context": ctx, "origin": "document", "clip": {"type": "box", "x": 0, "y": 0, "width": width, "height": height}})["data"]
    # show the page's own tab again so the toolbar shows its badge
    ff.bidi.cmd("browsingContext.activate", {"context": ff.context})
    time.sleep(0.5)
    data_url = chrome_evaluate(ff, f"""(async () => {{
        const XHTML = "http://www.w3.org/1999/xhtml";
        const toolbarHeight = document.getElementById("nav-bar").getBoundingClientRect().bottom;
        const button = document.getElementById("{ACTION_WIDGET}").getBoundingClientRect();
        const img = new Image();
        img.src = "data:image/png;base64,{popup_png}";
        await img.decode();
        const c = document.createElementNS(XHTML, "canvas");
        c.width = window.innerWidth;
        c.height = Math.ceil(toolbarHeight) + img.height + 16;
        const g = c.getContext("2d");
        g.fillStyle = "#e0e0e6";
        g.fillRect(0, 0, c.width, c.height);
        g.drawWindow(window, 0, 0, c.width, Math.ceil(toolbarHeight), "white");
        const x = Math.max(8, Math.min(c.width - img.width - 8, button.right - img.width));
        const y = Math.ceil(toolbarHeight) + 4;
        g.fillStyle = "rgba(0,0,0,0.25)";
        g.fillRect(x + 3, y + 3, img.width, img.height);
        g.drawImage(img, x, y);
        g.strokeStyle = "#8c959f";
        g.strokeRect(x + 0.5, y + 0.5, img.width - 1, img.height - 1);
        return c.toDataURL("image/png");
    }})()""")
    return base64.b64decode(data_url.split(",", 1)[1])


def badge_fit(ff: Firefox, tab_id: int, text: str, color: str) -> dict:
    """Shows ``text`` on ``color`` as the badge of tab ``tab_id`` (the first tab, which is selected so the
    toolbar shows it) through the real ``action`` API, draws the toolbar button as Firefox renders it
    (drawWindow in the chrome realm, as :func:`badge_and_popup_screenshot` does) and measures the pixels.

    The badge rectangle is the bounding box of the pixels of the badge's background colour; text pixels
    are those inside it nearer the badge's text colour than its background. Returned: ``badge`` [left,
    right] and ``ink`` [first, last] pixel columns of that rectangle and of the text (``ink`` null when no
    text pixel was found), ``ink_width`` as rendered, ``measured_ink`` the text's ink width measured with
    CanvasRenderingContext2D.measureText in the badge's own font in the same browser, and ``overflow`` the
    badge label's scrollWidth - clientWidth. A text fits when its ink keeps off the rectangle's first and
    last columns and is as wide as measured (clipped text is narrower: "BAN" rendered as "BA")."""
    pin_action(ff)
    ff.evaluate(f"Promise.all([browser.action.setBadgeText({{tabId: {tab_id}, text: {json.dumps(text)}}}),"
                f" browser.action.setBadgeBackgroundColor({{tabId: {tab_id}, color: {json.dumps(color)}}})]).then(() => true)")
    ff.bidi.cmd("browsingContext.activate", {"context": ff.context})
    expected = json.dumps(text)
    result = poll(lambda: chrome_evaluate(ff, f"""(async () => {{
        const XHTML = "http://www.w3.org/1999/xhtml";
        const label = document.getElementById("{ACTION_WIDGET}").querySelector(".toolbarbutton-badge");
        if (!label || label.textContent !== {expected}) return "";
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const cs = getComputedStyle(label);
        const parse = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const bg = parse(cs.backgroundColor), fg = parse(cs.color);
        const r = label.getBoundingClientRect();
        // the label's box and a pixel around it: wider, the grey of a badge matches the toolbar's icons
        const pad = 1, x0 = Math.floor(r.left) - pad, y0 = Math.floor(r.top) - pad;
        const w = Math.ceil(r.width) + 2 * pad, h = Math.ceil(r.height) + 2 * pad;
        const c = document.createElementNS(XHTML, "canvas");
        c.width = w; c.height = h;
        const g = c.getContext("2d");
        g.drawWindow(window, x0, y0, w, h, "white");
        const px = g.getImageData(0, 0, w, h).data;
        const d2 = (i, ref) => (px[i] - ref[0]) ** 2 + (px[i + 1] - ref[1]) ** 2 + (px[i + 2] - ref[2]) ** 2;
        let left = w, right = -1, top = h, bottom = -1;
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {{
          if (d2((y * w + x) * 4, bg) <= 3 * 8 ** 2) {{
            left = Math.min(left, x); right = Math.max(right, x); top = Math.min(top, y); bottom = Math.max(bottom, y);
          }}
        }}
        if (right < 0) return JSON.stringify({{error: "no pixel of the badge colour " + cs.backgroundColor}});
        // rows clear of the rounded corners, whose anti-aliased pixels blend in the light toolbar
        const radius = Math.ceil(parseFloat(cs.borderTopLeftRadius) || 0);
        let ink0 = null, ink1 = null;
        for (let y = top + radius; y <= bottom - radius; y++) for (let x = left; x <= right; x++) {{
          const i = (y * w + x) * 4;
          if (d2(i, fg) < d2(i, bg)) {{ ink0 = ink0 === null ? x : Math.min(ink0, x); ink1 = ink1 === null ? x : Math.max(ink1, x); }}
        }}
        const m = document.createElementNS(XHTML, "canvas").getContext("2d");
        m.font = cs.font;
        const tm = m.measureText(label.textContent);
        return JSON.stringify({{
          text: label.textContent, font: cs.font, badge: [left, right], ink: ink0 === null ? null : [ink0, ink1],
          ink_width: ink0 === null ? 0 : ink1 - ink0 + 1,
          measured_ink: tm.actualBoundingBoxLeft + tm.actualBoundingBoxRight, measured_advance: tm.width,
          overflow: label.scrollWidth - label.clientWidth,
        }});
    }})()"""), lambda v: bool(v), 10, 0.2)
    assert result, f"the toolbar badge never showed {text!r}"
    return json.loads(result)


def badge_clipped(fit: dict, margin: int = 1) -> str | None:
    """Why the measured badge text (:func:`badge_fit`) does not fit, or None when it fits."""
    if "error" in fit:
        return fit["error"]
    left, right = fit["badge"]
    if fit["ink"] is None:
        return "no text pixels on the badge"
    ink0, ink1 = fit["ink"]
    if ink0 < left + margin or ink1 > right - margin:
        return f"text pixels at columns {ink0}..{ink1} touch the badge's edge ({left}..{right}, margin {margin})"
    if fit["ink_width"] < fit["measured_ink"] - 3:  # anti-aliased edges of a glyph may fall under the midpoint
        return f"rendered text is {fit['ink_width']} px wide but measures {fit['measured_ink']:.1f} px: clipped"
    return None
