"""The whole Linux rollout, as a fleet administrator does it, inside a private mount namespace (run by
tests/e2e/test_rollout_e2e.py through tests/nskit.py; never run it outside one: it installs a package and writes
/etc as root).

    python tests/e2e/rollout_scenario.py --work DIR --deb DEB --xpi XPI --crx-key KEY.pem

Steps, each recorded in ``DIR/results.json`` (the test asserts on it):

1. ``dpkg -i`` the Debian package (host bundle, host manifests allowing the CRX key's id, timers);
2. pack the CRX3 and its updates.xml with build/pack_crx.mjs for a local update server (plain http, 127.0.0.1);
3. ``rootsentinel rollout settings.json`` with the package's own CLI, and put its config and policies into /etc;
4. Chromium (fresh profile, no extension flags) and Firefox ESR (fresh profile, no add-on install over BiDi): the
   policy force-installs the extension, the managed settings are in force from the first page (enforce: the
   policy-banned root's page is replaced by the blocked page; the allow-listed proxy root's page shows ``i``);
   the time from browser start to the first badge; ``rootsentinel doctor`` per browser;
5. decommission: ``rollout --decommission`` policies, each browser started again on the same profile (the
   extension must be gone from it), ``dpkg --purge``, the policies removed; then what is left.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pki  # noqa: E402
from badges import BADGE  # noqa: E402
from browser import REPO, BrowserSession, poll, trust_roots  # noqa: E402
from chromium import CDP, FLAGS, CDPError, chromium_binary  # noqa: E402
from firefox import BiDi, BiDiError, _plain, firefox_binary  # noqa: E402
from servers import WebServer  # noqa: E402

FIREFOX_ID = "rootsentinel@rootsentinel.io"
ROOTSENTINEL = "/usr/bin/rootsentinel"  # the package's command (not a virtualenv's on PATH)
PAGE = "<!doctype html><title>{t}</title><h1>{t}</h1>"
# Chromium's policy force-install needs its extension updater: --disable-background-networking would stop it
CR_FLAGS = [f for f in FLAGS if f != "--disable-background-networking"]


def sh(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)


class Session(BrowserSession):
    """A browser started on a profile that outlives it (so the decommission can start it again)."""

    def __init__(self, name: str, listening: str, api: str):
        super().__init__(binary=None, trust=[], host=None, local_settings=None, tmp_prefix="rs-rollout-")
        self.name, self.listening, self.api = name, listening, api

    def start(self, args: list[str], env: dict) -> str:
        return self._start(args, env)


class ChromiumRun(Session):
    def __init__(self, home: Path, ext_id: str):
        super().__init__("Chromium", r"DevTools listening on (ws://\S+)", "chrome")
        self.home_dir, self.ext_id, self.sw = home, ext_id, None
        self.env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                    "XDG_CACHE_HOME": str(home / ".cache")}
        self.udd = home / ".config" / "chromium"

    def launch(self) -> float:
        started = time.monotonic()
        self.client = CDP(self.start([chromium_binary(), *CR_FLAGS, f"--user-data-dir={self.udd}",
                                      "--remote-debugging-port=0", "about:blank"], self.env))
        return started

    def worker(self, timeout: float) -> str | None:
        prefix = f"chrome-extension://{self.ext_id}/"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t in self.client.cmd("Target.getTargets")["targetInfos"]:
                if t["type"] == "service_worker" and t["url"].startswith(prefix):
                    self.sw = self.client.cmd("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True})["sessionId"]
                    if poll(lambda: self._try("typeof chrome.tabs === 'object'"), bool, 20, 0.1):
                        return self.sw
            time.sleep(0.2)
        return None

    def _try(self, expr: str):
        try:
            return self.evaluate(expr)
        except (CDPError, TimeoutError):
            return None

    def evaluate(self, expression: str):
        res = self.client.cmd("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                   "returnByValue": True}, session=self.sw, timeout=60)
        if "exceptionDetails" in res:
            raise CDPError(str(res["exceptionDetails"].get("exception", {}).get("description")))
        return res["result"].get("value")

    def visit(self, url: str) -> int:
        return self.evaluate(f"chrome.tabs.create({{url: {json.dumps(url)}}}).then(t => t.id)")

    def tab_url(self, tab: int) -> str:
        return self.evaluate(f"chrome.tabs.get({tab}).then(t => t.url)")


class FirefoxRun(Session):
    def __init__(self, home: Path, profile: Path, ext_uuid: str):
        super().__init__("Firefox", r"WebDriver BiDi listening on (ws://\S+)", "browser")
        self.home_dir, self.profile, self.uuid, self.ctx, self.ext_ctx = home, profile, ext_uuid, None, None

    def launch(self) -> float:
        env = {**os.environ, "HOME": str(self.home_dir), "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1",
               "XDG_CONFIG_HOME": str(self.home_dir / ".config"), "XDG_CACHE_HOME": str(self.home_dir / ".cache")}
        started = time.monotonic()
        self.client = BiDi(self.start([firefox_binary(), "--headless", "--no-remote", "--profile", str(self.profile),
                                       "--remote-debugging-port", "0", "--remote-allow-system-access"], env)
                           .rstrip("/") + "/session")
        self.client.cmd("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": False}}})
        self.ctx = self.client.cmd("browsingContext.getTree", {})["contexts"][0]["context"]
        return started

    def navigate(self, url: str, ctx: str) -> None:
        try:
            self.client.cmd("browsingContext.navigate", {"context": ctx, "url": url, "wait": "complete"}, timeout=60)
        except BiDiError:
            pass  # an extension page that does not exist (yet), a blocked page

    def extension_ready(self, timeout: float) -> bool:
        """Opens the extension's options page in its own tab until it loads (the add-on is installed)."""
        self.ext_ctx = self.ext_ctx or self.client.cmd("browsingContext.create", {"type": "tab", "background": True})["context"]

        def loaded():
            self.navigate(f"moz-extension://{self.uuid}/options/options.html", self.ext_ctx)
            try:
                return self.evaluate("typeof browser === 'object' && typeof browser.action === 'object'")
            except BiDiError:
                return False
        return bool(poll(loaded, bool, timeout, 0.3))

    def evaluate(self, expression: str):
        res = self.client.cmd("script.evaluate", {"expression": expression, "target": {"context": self.ext_ctx},
                                                  "awaitPromise": True, "resultOwnership": "none"})
        if res.get("type") == "exception":
            raise BiDiError(str(res["exceptionDetails"].get("text")))
        return _plain(res["result"])

    def tab_id(self, prefix: str) -> int | None:
        tabs = json.loads(self.evaluate("browser.tabs.query({}).then(ts => JSON.stringify(ts.map(t => [t.id, t.url])))"))
        return next((tid for tid, url in tabs if url and url.startswith(prefix)), None)

    def url(self, ctx: str) -> str:
        return self.client.cmd("browsingContext.getTree", {"root": ctx})["contexts"][0]["url"]


def firefox_profile(profile: Path, ext_uuid: str, roots: list[Path]) -> None:
    """A fresh profile: the roots trusted, the add-on's moz-extension UUID fixed, no network but 127.0.0.1.
    Not ``xpinstall.signatures.required``: that must come from the policy."""
    profile.mkdir(parents=True)
    trust_roots(profile, roots)
    prefs = {"extensions.webextensions.uuids": json.dumps({FIREFOX_ID: ext_uuid}), "network.http.http3.enable": False,
             "browser.shell.checkDefaultBrowser": False, "browser.aboutwelcome.enabled": False,
             "datareporting.policy.dataSubmissionEnabled": False, "app.update.enabled": False,
             "app.normandy.enabled": False, "browser.startup.page": 0, "security.OCSP.enabled": 0,
             "services.settings.server": "http://127.0.0.1:9/", "network.proxy.type": 0,
             "browser.safebrowsing.malware.enabled": False, "browser.safebrowsing.phishing.enabled": False}
    (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items()))


def host_processes() -> list[str]:
    """Command lines of running processes whose executable is under /opt/rootsentinel."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe").startswith("/opt/rootsentinel/"):
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


WATCHED = ("/etc", "/opt", "/usr/lib/mozilla", "/usr/lib/systemd/system", "/usr/bin", "/var/lib/rootsentinel",
           "/var/log/rootsentinel")


def snapshot() -> set[str]:
    """Every path under :data:`WATCHED` (what the rollout and the package may touch)."""
    found = set()
    for top in WATCHED:
        if os.path.lexists(top):
            found.add(top)
            for folder, dirs, files in os.walk(top):
                found.update(os.path.join(folder, n) for n in dirs + files)
    return found


def remove_with_new_parents(files: list[str], before: set[str]) -> None:
    """Removes ``files`` and then their parent folders that were not there ``before`` and are empty."""
    for name in files:
        path = Path(name)
        path.unlink(missing_ok=True)
        for parent in path.parents:
            if str(parent) in before or not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()


def copy_tree(src: Path, parts: list[str]) -> list[str]:
    """Copies ``src/<part>`` folders into ``/<part>``; returns the files copied (absolute target paths)."""
    copied = []
    for part in parts:
        for f in sorted((src / part).rglob("*")):
            if f.is_file():
                dest = Path("/") / f.relative_to(src)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest)
                copied.append(str(dest))
    return copied


TEST_POLICY = Path("/etc/chromium/policies/managed/zz-rootsentinel-test-devtools.json")
POLICY_PARTS = ["etc/opt/chrome/policies", "etc/chromium/policies", "etc/opt/edge/policies", "etc/brave/policies",
                "etc/firefox"]


def main() -> int:
    ap = argparse.ArgumentParser()
    for opt in ("--work", "--deb", "--xpi", "--crx-key"):
        ap.add_argument(opt, required=True, type=Path)
    args = ap.parse_args()
    w: Path = args.work
    r: dict = {"steps": []}

    def save():
        (w / "results.json").write_text(json.dumps(r, indent=1))

    certs = w / "certs"
    banned_root = pki.private_root("Retired Proxy Root", org="Example Corp")
    proxy_root = pki.private_root("Corp Inspection Root", org="Example Corp")
    roots = []
    for stem, root in (("banned", banned_root), ("proxy", proxy_root)):
        certs.mkdir(exist_ok=True)
        (certs / f"{stem}.root.pem").write_bytes(root.pem())
        roots.append(certs / f"{stem}.root.pem")
    # an inspection proxy does not send its root: the servers send the leaf only, and the settings give the roots
    # themselves (allow_roots_pem, banned[].pem) so the host's path builder reaches them
    banned_srv = WebServer(*pki.server_identity(banned_root).write(certs, "banned"))
    proxy_srv = WebServer(*pki.server_identity(proxy_root).write(certs, "proxy"))
    banned_srv.pages["/"] = ("text/html", PAGE.format(t="Retired proxy"))
    proxy_srv.pages["/"] = ("text/html", PAGE.format(t="Intranet"))
    updates = WebServer()
    with banned_srv, proxy_srv, updates:
        before = snapshot()
        # 1. the package
        p = sh(["dpkg", "-i", str(args.deb)])
        r["dpkg_install"] = {"rc": p.returncode, "out": p.stdout[-2000:] + p.stderr[-2000:]}
        # 2. the CRX on a local update server
        crx_dir = w / "crx"
        p = sh(["node", str(REPO / "build" / "pack_crx.mjs"), "--key", str(args.crx_key), "--base-url",
                f"http://127.0.0.1:{updates.port}/rs", "--out", str(crx_dir)], cwd=REPO)
        ext_id = (crx_dir / "chromium-extension-id.txt").read_text().strip()
        for f in crx_dir.iterdir():
            ctype = "application/x-chrome-extension" if f.suffix == ".crx" else "text/xml"
            updates.pages[f"/rs/{f.name}"] = (ctype, f.read_bytes())
        r["crx"] = {"rc": p.returncode, "id": ext_id, "err": p.stderr[-1000:]}
        # 3. one settings file -> config, manifests, policies, with the package's own command
        settings = {"mode": "enforce", "allow_roots_pem": [proxy_root.pem().decode()],
                    "banned": [{"pem": banned_root.pem().decode(), "reason": "retired proxy root"}],
                    "notifications": False, "audit": False}
        (w / "settings.json").write_text(json.dumps(settings))
        xpi = w / "rootsentinel-firefox.xpi"
        shutil.copy(args.xpi, xpi)
        p = sh([ROOTSENTINEL, "rollout", str(w / "settings.json"), "--out", str(w / "tree"), "--extension-id", ext_id,
                "--update-url", f"http://127.0.0.1:{updates.port}/rs/updates.xml", "--xpi-url", xpi.as_uri(),
                "--firefox-esr"])
        r["rollout"] = {"rc": p.returncode, "out": p.stdout, "err": p.stderr}
        manifests = [f for f in (w / "tree").rglob("io.rootsentinel.host.json")]
        r["manifests_equal_package"] = {str(f.relative_to(w / "tree")): f.read_bytes() == (Path("/") / f.relative_to(w / "tree")).read_bytes()
                                        for f in manifests}
        r["installed_files"] = copy_tree(w / "tree", ["etc/rootsentinel", *POLICY_PARTS])
        # the test's own policy: DevTools may attach to a policy-installed extension (DeveloperToolsAvailability 1;
        # the default, 0, refuses Target.attachToTarget on its service worker: "Not allowed")
        TEST_POLICY.write_text(json.dumps({"DeveloperToolsAvailability": 1}))
        save()

        # 4a. Chromium
        cr = ChromiumRun(w / "cr-home", ext_id)
        trust_roots(_mkdir(w / "cr-home" / ".pki" / "nssdb"), roots)
        try:
            t0 = cr.launch()
            r["chromium"] = c = {"worker": bool(cr.worker(60))}
            if c["worker"]:
                tab = cr.visit(banned_srv.url("/"))
                first = poll(lambda: cr.badge(tab), lambda b: b["text"] not in ("", "…"), 60, 0.05)
                c["first_badge_s"] = round(time.monotonic() - t0, 2)
                c["banned_badge"] = first
                blocked = f"chrome-extension://{ext_id}/blocked/blocked.html?tab={{}}"
                c["first_page_blocked"] = poll(lambda: cr.tab_url(tab), lambda u: u == blocked.format(tab), 20, 0.1) \
                    == blocked.format(tab)
                # storage.managed arrives a moment after the worker starts (issue 23 item 5, i23-settings' work)
                c["managed"] = poll(lambda: cr.evaluate("chrome.storage.managed.get().then(s => JSON.stringify(s))"),
                                    lambda m: m != "{}", 30, 0.1)
                c["managed_after_s"] = round(time.monotonic() - t0, 2)
                tab = cr.visit(banned_srv.url("/"))
                c["blocked_url"] = blocked.format(tab)
                c["banned_url"] = poll(lambda: cr.tab_url(tab), lambda u: u == blocked.format(tab), 20, 0.1)
                tab2 = cr.visit(proxy_srv.url("/"))
                c["proxy_badge"] = poll(lambda: cr.badge(tab2), lambda b: b["text"] not in ("", "…"), 30, 0.1)
            d = sh([ROOTSENTINEL, "doctor", "--json", "--browser", "chromium", "--scope", "system", "--extension-id",
                    ext_id], env=cr.env)
            c["doctor"] = {"rc": d.returncode, "out": d.stdout, "err": d.stderr}
        finally:
            cr.close()
        save()

        # 4b. Firefox ESR
        ext_uuid = str(uuid.uuid4())
        ff_home, profile = _mkdir(w / "ff-home"), w / "ff-profile"
        firefox_profile(profile, ext_uuid, roots)
        ff = FirefoxRun(ff_home, profile, ext_uuid)
        try:
            t0 = ff.launch()
            r["firefox"] = f = {"installed": ff.extension_ready(60)}
            if f["installed"]:
                f["managed"] = ff.evaluate("browser.storage.managed.get().then(s => JSON.stringify(s))")
                ff.navigate(banned_srv.url("/"), ff.ctx)
                tab = poll(lambda: ff.tab_id(banned_srv.url("/")) or ff.tab_id(f"moz-extension://{ext_uuid}/blocked/"),
                           lambda t: t is not None, 20)
                first = poll(lambda: ff.badge(tab), lambda b: b["text"] not in ("", "…"), 60, 0.05)
                f["first_badge_s"] = round(time.monotonic() - t0, 2)
                f["banned_badge"] = first
                f["banned_url"] = poll(lambda: ff.url(ff.ctx), lambda u: "/blocked/blocked.html" in u, 20)
                f["first_page_blocked"] = "/blocked/blocked.html" in f["banned_url"]
                ff.navigate(proxy_srv.url("/"), ff.ctx)
                tab2 = poll(lambda: ff.tab_id(proxy_srv.url("/")), lambda t: t is not None, 20)
                f["proxy_badge"] = poll(lambda: ff.badge(tab2), lambda b: b["text"] not in ("", "…"), 30, 0.1)
            d = sh([ROOTSENTINEL, "doctor", "--json", "--browser", "firefox", "--scope", "system"],
                   env={**os.environ, "HOME": str(ff_home)})
            f["doctor"] = {"rc": d.returncode, "out": d.stdout, "err": d.stderr}
        finally:
            ff.close()
        save()

        # 5. decommission: policies that remove the extension, each browser started again, the package purged
        p = sh([ROOTSENTINEL, "rollout", "--decommission", "--out", str(w / "decommission"), "--extension-id", ext_id])
        r["decommission"] = dc = {"rc": p.returncode, "files": copy_tree(w / "decommission", POLICY_PARTS)}
        cr = ChromiumRun(w / "cr-home", ext_id)
        try:
            cr.launch()
            ext_dir = cr.udd / "Default" / "Extensions" / ext_id
            dc["chromium_ext_dir_gone"] = poll(lambda: not ext_dir.exists(), bool, 30, 0.5)
            dc["chromium_worker"] = bool(cr.worker(3))
        finally:
            cr.close()
        ff = FirefoxRun(ff_home, profile, ext_uuid)
        try:
            ff.launch()
            xpi_in_profile = profile / "extensions" / f"{FIREFOX_ID}.xpi"
            dc["firefox_xpi_gone"] = poll(lambda: not xpi_in_profile.exists(), bool, 30, 0.5)
            dc["firefox_extension_page"] = ff.extension_ready(3)
        finally:
            ff.close()
        dc["firefox_extensions_json_lists_it"] = FIREFOX_ID in (profile / "extensions.json").read_text() \
            if (profile / "extensions.json").exists() else False
        # the fleet drops the decommission policies (and the config) once every machine has applied them
        remove_with_new_parents([*dc["files"], str(TEST_POLICY), "/etc/rootsentinel/config.json"], before)
        p = sh(["dpkg", "--purge", "rootsentinel"])
        dc["purge"] = {"rc": p.returncode, "out": p.stdout + p.stderr}
        dc["host_processes"] = host_processes()
        dc["status"] = sh(["dpkg-query", "-W", "-f", "${Status}", "rootsentinel"]).stdout
        after = snapshot()
        dc["appeared"], dc["disappeared"] = sorted(after - before), sorted(before - after)
    r["sizes"] = {p.name: p.stat().st_size for p in (args.deb, args.xpi, *crx_dir.glob("*.crx"))}
    save()
    return 0


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


if __name__ == "__main__":
    sys.exit(main())
