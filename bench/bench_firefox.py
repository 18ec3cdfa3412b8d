"""7. Page-load overhead in real headless Firefox: one page with 100 subresources on 10 HTTPS origins,
loaded with and without the extension, 30 timed loads each, interleaved.

Uses the end-to-end harness as it is (tests/e2e/firefox.py, pki.py, servers.py; imported, not copied):
several Firefox instances at once, the same test root trusted in each, the same local servers. Instance A
has RootSentinel installed with the real host; instance B is started by the same harness without a host
manifest and the extension is then removed with BiDi ``webExtension.uninstall``, so both profiles are
otherwise identical. Instance C has the extension but no host manifest (the extension's own cost
without any native messaging); by default (``--diagnose 1``) one more instance per variant
(DEFAULT_VARIANTS, or ``--variants``) has pieces of the *built copy* of the extension changed by text
match (extension/ itself is untouched; a text that no longer matches stops the run), to tell where an
overhead comes from. With ``--chromium 1`` (default) the same page is loaded in two headless Chromiums
of the Chromium harness (tests/e2e/chromium.py): one with the extension in its default (probe) mode and
the host, one started without any extension. The figure is the page's own ``loadEventEnd`` (Navigation
Timing), read in the page; besides the medians, the per-round paired ratios and their quartiles show
how much of it is noise. Each load is followed by ``--settle`` seconds of idle.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))

from bench._common import Report, args, goal, summary  # noqa: E402

ORIGINS = 10
PER_ORIGIN = 10
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def page(servers, n: int) -> str:
    imgs = "".join(f'<img src="{s.url(f"/r{j}.png?n={n}")}" width=1 height=1>'
                   for s in servers for j in range(PER_ORIGIN))
    return f"<!doctype html><meta charset=utf-8><title>bench {n}</title><h1>bench</h1>{imgs}"


def load(ff, servers, n: int) -> dict:
    url = servers[0].url(f"/page?n={n}")
    servers[0].pages["/page"] = ("text/html", page(servers, n))
    ff.navigate(url)
    deadline = time.monotonic() + 30
    while True:
        timing = json.loads(ff.evaluate(
            "JSON.stringify({nav: performance.getEntriesByType('navigation').map(e => e.toJSON())[0] || null,"
            " resources: performance.getEntriesByType('resource').length, url: location.href})",
            context=ff.context))
        if timing["nav"] and timing["nav"]["loadEventEnd"] > 0 and timing["url"] == url:
            return timing
        if time.monotonic() > deadline:
            raise TimeoutError(f"no load event for {url}: {timing}")
        time.sleep(0.05)


# Diagnosis variants: the extension as built by the harness, with pieces of the built copy (capture.js
# unless a patch names another file) changed by text match (the sources in extension/ are untouched). A text that is not found
# stops the run (the variant would silently measure the extension as built).
VARIANTS = {
    "noop": ("a blocking onHeadersReceived listener that returns at once (the cost of the listener alone)",
             [("if (details.tabId < 0) return undefined;", "return undefined;")]),
    "nonblocking": ("the same listener registered without \"blocking\", returning at once (what observing every "
                    "response costs when the browser does not wait for the extension)",
                    [("if (details.tabId < 0) return undefined;", "return undefined;"),
                     ('["blocking"],', "[],")]),
    "everyresponse": ("getSecurityInfo for every response, not only an origin's first on the page and a 1-in-16 "
                      "sample (the capture before PageOrigins)",
                      [("if (!main && !sentinel.wantsResponse(details.tabId, origin, details.fromCache)) return undefined;", "")]),
    "mainonly": ("main frames captured as built, every other response returned at once (the page's own verdict "
                 "on top of the listener alone)",
                 [("if (!main && !sentinel.wantsResponse(details.tabId, origin, details.fromCache)) return undefined;",
                   "if (!main) return undefined;")]),
    "nosample": ("as built, but no sample: getSecurityInfo only for an origin's first response on the page",
                 [("resample = 1 / 16,", "resample = 0,", "cache.js")]),
    "lean": ("as built, but no sample, no storage.session writes of tab states and no badge redraw on a tab-state "
             "change (what the extension's own work after the call costs)",
             [("resample = 1 / 16,", "resample = 0,", "cache.js"),
              ("if (this.session) {", "if (false) {", "tabstate.js"),
              ("onChange: (tabId) => sentinel?.applyBadge(tabId),", "onChange: () => {},", "background.js")]),
    "nopersist": ("as built, but the tab states are not written to storage.session",
                  [("if (this.session) {", "if (false) {", "tabstate.js")]),
    "nobadge": ("as built, but the badge is not redrawn when a tab state changes",
                [("onChange: (tabId) => sentinel?.applyBadge(tabId),", "onChange: () => {},", "background.js")]),
    "noder": ("getSecurityInfo(requestId, {certificateChain: true}) for every response, never rawDER",
              [("der ? WITH_DER : WITHOUT_DER", "WITHOUT_DER")]),
    "sionly": ("getSecurityInfo as built (the capture plan's options), then return without recording anything "
               "(the browser's cost of the security info alone)",
               [("const work = sentinel.observe(", "securityInfo.catch(() => {}); return undefined; const work = sentinel.observe(")]),
    "allder": ("rawDER: true for every response (the capture before issue 16)",
               [("der ? WITH_DER : WITHOUT_DER", "WITH_DER")]),
}


# What `make bench` runs (one browser each, all at once on the bench machine): the floor (listener alone,
# blocking or not), the capture without rawDER and without PageOrigins, and the API's own cost.
# `--variants all` (or a list) runs others.
DEFAULT_VARIANTS = ("noop", "nonblocking", "noder", "everyresponse", "sionly")


def patched_builder(original, variant: str | None):
    """``original`` (the harness's own build_extension, never an earlier patched one: builders stacked on
    each other would apply every earlier variant's patch too), then the variant's patch."""

    def build(out: Path) -> Path:
        original(out)
        if variant:
            for patch in VARIANTS[variant][1]:
                old, new, name = (*patch, "capture.js") if len(patch) == 2 else patch
                files = list(out.rglob(name))
                hits = [p for p in files if p.read_text("utf-8").count(old) == 1]
                if len(hits) != 1:
                    raise RuntimeError(f"bench variant {variant!r}: the text {old!r} is not found exactly once in one "
                                       f"built {name} ({[str(p.relative_to(out)) for p in files]}); update VARIANTS")
                p = hits[0]
                p.write_text(p.read_text("utf-8").replace(old, new, 1), "utf-8")
                if new not in p.read_text("utf-8"):
                    raise RuntimeError(f"bench variant {variant!r}: the patch did not apply")
        return out

    return build


def paired(samples: list[float], base: list[float]) -> tuple[float, float, float]:
    """Median and quartiles of the per-round ratios (each round loads the page once in every browser)."""
    r = sorted(x / y - 1 for x, y in zip(samples, base))
    q = lambda f: r[min(len(r) - 1, int(f * len(r)))]  # noqa: E731
    return statistics.median(r), q(0.25), q(0.75)


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


def main() -> None:
    a = args(__doc__.splitlines()[0], loads=(int, 30, "timed loads per browser (issue 6: 20; issue 16: 30)"),
             diagnose=(int, 1, "1 (default): also the diagnosis variants of the extension (VARIANTS, one browser each)"),
             variants=(str, ",".join(DEFAULT_VARIANTS), "comma-separated names from VARIANTS to run, or 'all'"),
             settle=(float, 0.3, "seconds of idle after each load, so one browser's work after its load event "
                                 "(host replies, storage, GC) does not land in the next browser's timed load"),
             chromium=(int, 1, "1 (default): also the page in headless Chromium, extension (probe mode) vs none"))
    loads = 4 if a.quick else a.loads
    rep = Report("7. Page-load overhead in headless Firefox (and Chromium)")
    try:
        import pki
        from firefox import EXTENSION_ID, Firefox, firefox_binary
        from servers import WebServer
    except Exception as exc:  # noqa: BLE001 - the harness is another engineer's; report, do not crash
        rep.line(f"Skipped: the end-to-end harness (tests/e2e/) cannot be imported: {type(exc).__name__}: {exc}")
        rep.save(a.md)
        return
    missing = [name for name, ok in (("firefox-esr", firefox_binary()), ("certutil", shutil.which("certutil")),
                                     ("node", shutil.which("node"))) if not ok]
    if missing:
        rep.line(f"Skipped: needs {', '.join(missing)} (`apt-get install -y firefox-esr libnss3-tools`, node).")
        rep.save(a.md)
        return
    chromium_note = ""
    cr_mod = None
    if a.chromium:
        try:
            import chromium as cr_mod
            if not cr_mod.chromium_binary():
                chromium_note, cr_mod = "Chromium skipped: no chromium binary.", None
        except Exception as exc:  # noqa: BLE001
            chromium_note, cr_mod = f"Chromium skipped: {type(exc).__name__}: {exc}", None
    certdir = Path(tempfile.mkdtemp(prefix="rs-bench-ff-"))
    root = pki.private_root("RootSentinel Bench Root", "RootSentinel Bench")
    inter = pki.intermediate(root, "RootSentinel Bench Intermediate")
    chain, key = pki.server_identity(inter, chain_above=[inter]).write(certdir, "server")
    root_pem = certdir / "root.pem"
    root_pem.write_bytes(root.pem())
    servers = [WebServer(chain, key) for _ in range(ORIGINS)]
    for s in servers:
        for j in range(PER_ORIGIN):
            s.pages[f"/r{j}.png"] = ("image/png", PNG)
        s.__enter__()
    chosen = list(VARIANTS) if a.variants == "all" else [v for v in a.variants.split(",") if v]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"bench_firefox: unknown variant(s) {unknown}; known: {sorted(VARIANTS)}")
    names = ["with", "without", "nohost", *(chosen if a.diagnose else ())]
    cr_names = ["cr_with", "cr_without"] if cr_mod else []
    samples = {k: [] for k in [*names, *cr_names]}
    resources = {k: set() for k in samples}
    badge = None
    try:
        import contextlib

        import firefox as harness

        with contextlib.ExitStack() as stack:
            browsers = {}
            original = harness.build_extension
            try:
                for name in names:
                    harness.build_extension = patched_builder(original, name if name in VARIANTS else None)
                    ff = stack.enter_context(Firefox(trust=[root_pem], host=None if name in ("without", "nohost") else "real"))
                    if name == "without":
                        ff.bidi.cmd("webExtension.uninstall", {"extension": EXTENSION_ID})
                    browsers[name] = ff
            finally:
                harness.build_extension = original
            loaders = {name: (lambda n, ff=ff: load(ff, servers, n)) for name, ff in browsers.items()}
            if cr_mod:
                crs = {"cr_with": stack.enter_context(cr_mod.Chromium(trust=[root_pem], host="installed")),
                       "cr_without": stack.enter_context(plain_chromium_class(cr_mod)(trust=[root_pem], host=None))}
                for name, cr in crs.items():
                    sess = chromium_page(cr)
                    loaders[name] = (lambda n, cr=cr, sess=sess: chromium_load(cr, sess, servers, n))
            ff_with = browsers["with"]
            n = 0
            for _ in range(3):  # warm-up: connections, host start, caches of both
                for fn in loaders.values():
                    n += 1
                    fn(n)
            for _ in range(loads):
                order = list(loaders)
                random.shuffle(order)
                for name in order:
                    n += 1
                    t = loaders[name](n)
                    samples[name].append(t["nav"]["loadEventEnd"] / 1000)
                    resources[name].add(t["resources"])
                    time.sleep(a.settle)
            try:
                tab = ff_with.tab_id(servers[0].url("/page"))
                badge = ff_with.wait_badge(tab, lambda b: b["text"] not in ("", "\u2026"), timeout=10)
            except Exception as exc:  # noqa: BLE001
                badge = {"error": str(exc)}
    finally:
        for s in servers:
            s.__exit__(None, None, None)
        shutil.rmtree(certdir, ignore_errors=True)

    def row(label: str, name: str, base: str, is_goal: bool = False) -> list[str]:
        v, b = summary(samples[name]), summary(samples[base])
        over = v["median"] / b["median"] - 1
        med, q1, q3 = paired(samples[name], samples[base])
        pair = f"{med * 100:+.1f}% ({q1 * 100:+.1f}% .. {q3 * 100:+.1f}%)"
        return [label, f"{v['median'] * 1e3:.1f} ms", f"{v['p99'] * 1e3:.1f} ms", f"{over * 100:+.1f}%",
                goal(med < 0.05, pair + " vs +5%") if is_goal else pair]

    wo = summary(samples["without"])
    rows = [["Firefox without the extension", f"{wo['median'] * 1e3:.1f} ms", f"{wo['p99'] * 1e3:.1f} ms", "", ""],
            row("Firefox, RootSentinel + host, as built", "with", "without", is_goal=True),
            row("Firefox, RootSentinel, no host installed (the extension's own cost)", "nohost", "without")]
    for name, (label, _) in VARIANTS.items():
        if name in samples:
            rows.append(row(f"Firefox, with host, diagnosis: {label}", name, "without"))
    if cr_mod:
        cwo = summary(samples["cr_without"])
        rows.append(["Chromium without the extension", f"{cwo['median'] * 1e3:.1f} ms", f"{cwo['p99'] * 1e3:.1f} ms", "", ""])
        rows.append(row("Chromium, RootSentinel + host, default (probe) mode", "cr_with", "cr_without"))
    rep.table(["browser", "load median", "load p99", "overhead of the medians",
               "paired overhead: median of the per-round ratios (quartiles)"], rows)
    if "noop" in samples:
        gap = paired(samples["with"], samples["without"])[0] - paired(samples["noop"], samples["without"])[0]
        rep.line(f"As built vs the listener alone, paired medians: {gap * 100:+.1f} points "
                 f"({goal(abs(gap) <= 0.02, 'goal: within 2 points')}).")
        rep.line()
    rep.line(f"{loads} timed loads per browser after 3 warm-up loads each, interleaved in random order each round, "
             f"{a.settle:g} s idle after each; "
             f"page with {ORIGINS * PER_ORIGIN} images on {ORIGINS} HTTPS origins (127.0.0.1 servers, leaf <- "
             f"intermediate <- private root trusted in every profile, `Cache-Control: no-store`). The paired figure "
             f"divides each round's load by the same round's load without the extension (Chromium: by Chromium "
             f"without it); its quartiles show how much of it is this machine's noise. Resource entries seen per "
             f"load: {{{', '.join(f'{k}: {sorted(v)}' for k, v in resources.items())}}}. All "
             f"{len(samples)} browsers run at once. Badge on the last page with the extension: {badge}. {chromium_note}")
    rep.save(a.md)


if __name__ == "__main__":
    main()
