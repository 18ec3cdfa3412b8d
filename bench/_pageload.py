"""The bench page and the Chromium side of bench_firefox.py: loading the page through CDP, a Chromium without
any extension, the issue 27 floor build (one bare non-blocking onHeadersReceived listener), a build of another
commit, and a build that counts its own API calls (read back from its service worker).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import REPO

ORIGINS = 10
PER_ORIGIN = 10
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def page(servers, n: int) -> str:
    imgs = "".join(f'<img src="{s.url(f"/r{j}.png?n={n}")}" width=1 height=1>'
                   for s in servers for j in range(PER_ORIGIN))
    return f"<!doctype html><meta charset=utf-8><title>bench {n}</title><h1>bench</h1>{imgs}"


def chromium_load(cr, session: str, servers, n: int) -> dict:
    """One load of the bench page in a Chromium page target (CDP), timed like :func:`load`."""
    url = servers[0].url(f"/page?n={n}")
    servers[0].pages["/page"] = ("text/html", page(servers, n))
    cr.cdp.cmd("Page.navigate", {"url": url}, session=session)
    deadline = time.monotonic() + 30
    expr = ("JSON.stringify({nav: performance.getEntriesByType('navigation').map(e => e.toJSON())[0] || null,"
            " resources: performance.getEntriesByType('resource').length, url: location.href})")
    while True:
        try:
            timing = json.loads(cr.evaluate(expr, session=session))
        except Exception:  # noqa: BLE001 - the context is replaced while navigating
            timing = {"nav": None, "url": None}
        if timing["nav"] and timing["nav"]["loadEventEnd"] > 0 and timing["url"] == url:
            return timing
        if time.monotonic() > deadline:
            raise TimeoutError(f"no load event for {url} in Chromium: {timing}")
        time.sleep(0.05)


def chromium_page(cr) -> str:
    target = cr.cdp.cmd("Target.createTarget", {"url": "about:blank"})["targetId"]
    return cr.cdp.cmd("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]


def plain_chromium_class(chromium_module):
    """The harness's Chromium, started without any extension (the baseline of the Chromium figure)."""
    class PlainChromium(chromium_module.Chromium):
        def _launch(self) -> None:
            args = [self.binary, *chromium_module.FLAGS, f"--user-data-dir={self.user_data_dir}",
                    "--remote-debugging-port=0", "about:blank"]
            self.client = chromium_module.CDP(self._start(args, self.env))
            self.sw_session = None

    return PlainChromium


# The Chromium floor (issue 27): the extension's service worker registers one non-blocking
# onHeadersReceived listener on every https response that returns at once, and nothing else.
CHROMIUM_FLOOR = ("chrome.webRequest.onHeadersReceived.addListener(() => {}, "
                  "{urls: [\"https://*/*\", \"wss://*/*\"]});\n")

# Counting prelude for a real Chromium (inserted before the worker starts the background): it wraps the
# APIs the issue counts; listeners are wrapped so that removeListener still finds them.
COUNTING = """
globalThis.__rsCounts = { sessionSets: 0, sessionBytes: 0, onChanged: 0, action: 0, webRequest: 0 };
{
  const C = globalThis.__rsCounts;
  const wrapEvent = (ev, count) => {
    const wrapped = new Map();
    const add = ev.addListener.bind(ev);
    const remove = ev.removeListener.bind(ev);
    ev.addListener = (fn, ...rest) => { const w = (...a) => { count(); return fn(...a); }; wrapped.set(fn, w); return add(w, ...rest); };
    ev.removeListener = (fn) => remove(wrapped.get(fn) ?? fn);
  };
  try {
    const ss = chrome.storage.session;
    const set = ss.set.bind(ss);
    ss.set = (o, ...r) => { C.sessionSets += 1; C.sessionBytes += JSON.stringify(o).length; return set(o, ...r); };
  } catch (e) { C.error = String(e); }
  for (const n of ["setBadgeText", "setBadgeBackgroundColor", "setTitle", "setIcon"]) {
    try { const f = chrome.action[n].bind(chrome.action); chrome.action[n] = (...a) => { C.action += 1; return f(...a); }; }
    catch (e) { C.error = String(e); }
  }
  for (const e of ["onBeforeRequest", "onHeadersReceived", "onResponseStarted", "onBeforeRedirect", "onCompleted", "onErrorOccurred"]) {
    if (chrome.webRequest[e]) wrapEvent(chrome.webRequest[e], () => { C.webRequest += 1; });
  }
  wrapEvent(chrome.storage.onChanged, () => { C.onChanged += 1; });
  for (const area of ["local", "managed", "session", "sync"]) {
    if (chrome.storage[area]?.onChanged) wrapEvent(chrome.storage[area].onChanged, () => { C.onChanged += 1; });
  }
}
"""


def chromium_builder(cr_mod, *, tree: Path | None = None, floor: bool = False, counting: bool = False):
    """A build_extension for the Chromium harness: the extension of ``tree`` (a checkout of another
    commit; default this one), optionally replaced by the floor or made to count its calls."""
    original = cr_mod.build_extension

    def build(out: Path, with_debugger: bool = False) -> Path:
        if tree is None:
            original(out, with_debugger)
        else:
            subprocess.run(["node", str(tree / "build" / "build_extension.mjs"), "chromium", "--out", str(out)],
                           check=True, capture_output=True, cwd=tree)
        bg = out / "src" / "chromium" / "background.js"
        if floor:
            bg.write_text(CHROMIUM_FLOOR, "utf-8")
        elif counting:
            text = bg.read_text("utf-8")
            anchor = "let capture = null;"
            if text.count(anchor) != 1:
                raise RuntimeError(f"bench: {anchor!r} is not found once in the built chromium/background.js")
            bg.write_text(text.replace(anchor, COUNTING + anchor), "utf-8")
        return out

    return build


def baseline_tree(ref: str) -> Path:
    """``extension/``, ``build/`` and package.json of ``ref`` (git archive) in a temporary directory."""
    out = Path(tempfile.mkdtemp(prefix="rs-bench-base-"))
    data = subprocess.run(["git", "archive", ref, "extension", "build", "package.json"], cwd=REPO, check=True,
                          capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=data, check=True)
    return out


def node_counts(tree: Path | None) -> dict | None:
    """bench/counts.mjs on this checkout (None) or on ``tree``; None when node fails."""
    cmd = ["node", str(REPO / "bench" / "counts.mjs"), *([str(tree)] if tree else [])]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return None
    return json.loads(done.stdout)


def chromium_counts(cr_mod, builder, root_pem: Path, servers, loads: int, start: int) -> dict:
    """Per-load counts read from a real Chromium whose built extension counts its own calls."""
    original = cr_mod.build_extension
    cr_mod.build_extension = builder
    try:
        with cr_mod.Chromium(trust=[root_pem], host="installed") as cr:
            sess = chromium_page(cr)
            n = start
            for _ in range(2):
                n += 1
                chromium_load(cr, sess, servers, n)
            time.sleep(0.5)
            before = json.loads(cr.evaluate("JSON.stringify(globalThis.__rsCounts)"))
            for _ in range(loads):
                n += 1
                chromium_load(cr, sess, servers, n)
                time.sleep(0.5)
            after = json.loads(cr.evaluate("JSON.stringify(globalThis.__rsCounts)"))
    finally:
        cr_mod.build_extension = original
    out = {k: (after[k] - before.get(k, 0)) / loads for k in after if isinstance(after[k], (int, float))}
    out["webRequestPerResponse"] = out.get("webRequest", 0) / (ORIGINS * PER_ORIGIN + 1)
    if "error" in after:
        out["error"] = after["error"]
    return out
