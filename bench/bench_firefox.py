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

Issue 27 adds to the Chromium rows the floor (a Chromium whose extension registers one bare
non-blocking onHeadersReceived listener that returns at once, nothing else) and the gap to it, and with
``--baseline-ref REF`` a Chromium with the extension as built at REF (``git archive``); the CPU time per
load of each browser's processes (browser, extension process, host; bench/_proc.py); and counts that do not
depend on the machine's load: per load, storage.session writes and bytes, storage.onChanged listener calls,
action.* calls, webRequest listener calls per response, getSecurityInfo calls and host requests, from the
extension against the unit-test fakes (bench/counts.mjs, this build and REF) and, for Chromium, read from a
real Chromium whose built copy counts its own calls (after the timed rounds, not timed). Quick mode:
``--quick``, or ``BENCH_QUICK=1`` (4 loads), or ``BENCH_LOADS=N``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))

from bench import _proc  # noqa: E402
from bench._pageload import (  # noqa: E402
    ORIGINS, PER_ORIGIN, PNG, baseline_tree, chromium_builder, chromium_counts, chromium_load, chromium_page, node_counts, page,
    plain_chromium_class,
)
from bench._common import Report, args, goal, summary  # noqa: E402

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


# The text in tabstate.js that schedules a tab state's write (TabStates._changed).
PERSIST = "if (this.session) {\n      this.dirtyStates.add(tabId);"

# Diagnosis variants: the extension as built by the harness, with pieces of the built copy (capture.js
# unless a patch names another file) changed by text match (the sources in extension/ are untouched). A text that is not found
# stops the run (the variant would silently measure the extension as built).
VARIANTS = {
    "noop": ("a blocking onHeadersReceived listener that returns at once (the cost of the listener alone)",
             [("if (details.tabId < 0) return observeWorker(details);", "return undefined;")]),
    "nonblocking": ("the same listener registered without \"blocking\", returning at once (what observing every "
                    "response costs when the browser does not wait for the extension)",
                    [("if (details.tabId < 0) return observeWorker(details);", "return undefined;"),
                     ('["blocking"],', "[],")]),
    "everyresponse": ("getSecurityInfo for every response, not only an origin's first on the page and a 1-in-16 "
                      "sample (the capture before PageOrigins)",
                      [("if (!main && !frame && !sentinel.wantsResponse(details.tabId, origin, details.fromCache)) {", "if (false) {")]),
    "mainonly": ("main frames captured as built, every other response returned at once (the page's own verdict "
                 "on top of the listener alone)",
                 [("if (!main && !frame && !sentinel.wantsResponse(details.tabId, origin, details.fromCache)) {",
                   "if (!main) {")]),
    "nosample": ("as built, but no sample: getSecurityInfo only for an origin's first response on the page",
                 [("resample = 1 / 16,", "resample = 0,", "cache.js")]),
    "lean": ("as built, but no sample, no storage.session writes of tab states and no badge redraw on a tab-state "
             "change (what the extension's own work after the call costs)",
             [("resample = 1 / 16,", "resample = 0,", "cache.js"),
              (PERSIST, "if (false) {", "tabstate.js"),
              ("onChange: (tabId) => sentinel?.applyBadge(tabId),", "onChange: () => {},", "background.js")]),
    "nopersist": ("as built, but the tab states are not written to storage.session",
                  [(PERSIST, "if (false) {", "tabstate.js")]),
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


def main() -> None:
    a = args(__doc__.splitlines()[0], loads=(int, 30, "timed loads per browser (issue 6: 20; issue 16: 30)"),
             diagnose=(int, 1, "1 (default): also the diagnosis variants of the extension (VARIANTS, one browser each)"),
             variants=(str, ",".join(DEFAULT_VARIANTS), "comma-separated names from VARIANTS to run, or 'all'"),
             settle=(float, 0.3, "seconds of idle after each load, so one browser's work after its load event "
                                 "(host replies, storage, GC) does not land in the next browser's timed load"),
             chromium=(int, 1, "1 (default): also the page in headless Chromium, extension (probe mode) vs none"),
             baseline_ref=(str, "", "a git ref (e.g. the commit before a change): its extension is also loaded in "
                                    "Chromium and counted (bench/counts.mjs) beside this build's"),
             counts=(int, 1, "1 (default): count per-load calls (bench/counts.mjs; a real Chromium with a counting build)"),
             firefox=(int, 1, "1 (default): the Firefox browsers; 0: Chromium only (fewer browsers at once, less noise)"))
    quick = a.quick or bool(os.environ.get("BENCH_QUICK"))
    loads = int(os.environ.get("BENCH_LOADS") or (4 if quick else a.loads))
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
    names = ["with", "without", "nohost", *(chosen if a.diagnose else ())] if a.firefox else []
    base_tree = baseline_tree(a.baseline_ref) if a.baseline_ref else None
    cr_names = ["cr_with", "cr_floor", "cr_without", *(["cr_base"] if base_tree else [])] if cr_mod else []
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
            procs = {name: ff.proc for name, ff in browsers.items()}
            if cr_mod:
                crs = {"cr_with": stack.enter_context(cr_mod.Chromium(trust=[root_pem], host="installed")),
                       "cr_without": stack.enter_context(plain_chromium_class(cr_mod)(trust=[root_pem], host=None))}
                original_cr = cr_mod.build_extension
                try:
                    cr_mod.build_extension = chromium_builder(cr_mod, floor=True)
                    crs["cr_floor"] = stack.enter_context(cr_mod.Chromium(trust=[root_pem], host=None))
                    if base_tree:
                        cr_mod.build_extension = chromium_builder(cr_mod, tree=base_tree)
                        crs["cr_base"] = stack.enter_context(cr_mod.Chromium(trust=[root_pem], host="installed"))
                finally:
                    cr_mod.build_extension = original_cr
                for name, cr in crs.items():
                    procs[name] = cr.proc
                    sess = chromium_page(cr)
                    loaders[name] = (lambda n, cr=cr, sess=sess: chromium_load(cr, sess, servers, n))
            ff_with = browsers.get("with")
            n = 0
            for _ in range(3):  # warm-up: connections, host start, caches of both
                for fn in loaders.values():
                    n += 1
                    fn(n)
            loadavg = [os.getloadavg()[0]]
            cpu_before = {name: _proc.snapshot(proc.pid) for name, proc in procs.items()}
            for _ in range(loads):
                loadavg.append(os.getloadavg()[0])
                order = list(loaders)
                random.shuffle(order)
                for name in order:
                    n += 1
                    t = loaders[name](n)
                    samples[name].append(t["nav"]["loadEventEnd"] / 1000)
                    resources[name].add(t["resources"])
                    time.sleep(a.settle)
            cpu = {name: _proc.cpu_ms(cpu_before[name], _proc.snapshot(proc.pid)) for name, proc in procs.items()}
            loadavg.append(os.getloadavg()[0])
            real_counts = {}
            if cr_mod and a.counts:
                count_loads = 3 if quick else 5
                real_counts["this build"] = chromium_counts(cr_mod, chromium_builder(cr_mod, counting=True), root_pem,
                                                            servers, count_loads, n + 100)
                if base_tree:
                    real_counts[a.baseline_ref] = chromium_counts(cr_mod, chromium_builder(cr_mod, tree=base_tree, counting=True),
                                                                  root_pem, servers, count_loads, n + 200)
            try:
                if ff_with is None:
                    raise RuntimeError("no Firefox in this run")
                tab = ff_with.tab_id(servers[0].url("/page"))
                badge = ff_with.wait_badge(tab, lambda b: b["text"] not in ("", "\u2026"), timeout=10)
            except Exception as exc:  # noqa: BLE001
                badge = {"error": str(exc)}
    finally:
        for s in servers:
            s.__exit__(None, None, None)
        shutil.rmtree(certdir, ignore_errors=True)
    sim = {}
    if a.counts:
        sim["this build"] = node_counts(None)
        if base_tree:
            sim[a.baseline_ref] = node_counts(base_tree)
    if base_tree:
        shutil.rmtree(base_tree, ignore_errors=True)

    def row(label: str, name: str, base: str, is_goal: bool = False) -> list[str]:
        v, b = summary(samples[name]), summary(samples[base])
        over = v["median"] / b["median"] - 1
        med, q1, q3 = paired(samples[name], samples[base])
        pair = f"{med * 100:+.1f}% ({q1 * 100:+.1f}% .. {q3 * 100:+.1f}%)"
        return [label, f"{v['median'] * 1e3:.1f} ms", f"{v['p99'] * 1e3:.1f} ms", f"{over * 100:+.1f}%",
                goal(med < 0.05, pair + " vs +5%") if is_goal else pair]

    rows = []
    if a.firefox:
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
        rows.append(row("Chromium, RootSentinel + host, default (probe) mode, as built", "cr_with", "cr_without"))
        rows.append(row("Chromium, the floor: one non-blocking onHeadersReceived listener that returns at once, nothing else",
                        "cr_floor", "cr_without"))
        if "cr_base" in samples:
            rows.append(row(f"Chromium, RootSentinel + host, probe mode, as built at {a.baseline_ref}", "cr_base", "cr_without"))
    rep.table(["browser", "load median", "load p99", "overhead of the medians",
               "paired overhead: median of the per-round ratios (quartiles)"], rows)

    def gap(name: str, floor: str, base: str) -> float:
        return paired(samples[name], samples[base])[0] - paired(samples[floor], samples[base])[0]

    if "noop" in samples:
        g = gap("with", "noop", "without")
        rep.line(f"Firefox as built vs the listener alone (blocking), paired medians: {g * 100:+.1f} points "
                 f"({goal(g <= 0.02, 'goal: within 2 points')}).")
        rep.line()
    if a.firefox:
        g = gap("nohost", "with", "without")
        rep.line(f"Firefox with no host vs as built, paired medians: {g * 100:+.1f} points "
                 f"({goal(g <= 0.02, 'goal: within 2 points')}).")
        rep.line()
    if cr_mod:
        g = gap("cr_with", "cr_floor", "cr_without")
        rep.line(f"Chromium as built vs the one-listener floor, paired medians: {g * 100:+.1f} points "
                 f"({goal(g <= 0.03, 'goal: within 3 points')}).")
        rep.line()
    rep.table(["browser", "browser processes, CPU ms per load", "extension process", "host"],
              [[name, f"{c['browser'] / loads:.0f}", f"{c['extension'] / loads:.0f}", f"{c['host'] / loads:.0f}"]
               for name, c in cpu.items()])
    rep.line(f"CPU: utime + stime of each browser's process tree (bench/_proc.py) over the timed rounds (loads and "
             f"idle), divided by the loads. Load average (1 min) during the rounds: min {min(loadavg):.1f}, "
             f"max {max(loadavg):.1f}, on {os.cpu_count()} CPUs.")
    rep.line()
    if sim or real_counts:
        keys = [("sessionSets", "storage.session.set calls"), ("sessionBytes", "storage.session.set bytes (JSON)"),
                ("onChangedCalls", "storage.onChanged listener calls"), ("onChangedBytes", "bytes those calls carry back"),
                ("action", "action.* calls"), ("webRequestCallsPerResponse", "webRequest listener calls per response"),
                ("getSecurityInfo", "getSecurityInfo calls"), ("hostRequests", "host requests")]
        header = ["per load of the bench page (counted, not timed)"]
        cols = []
        for build, res in sim.items():
            for kind in ("firefox", "firefox_nohost", "chromium", "chromium_nohost"):
                if res and kind in res:
                    header.append(f"{kind}, {build}")
                    cols.append(res[kind])
        rows2 = [[label, *[f"{c.get(k, 0):.1f}" if isinstance(c.get(k, 0), float) else str(c.get(k, 0)) for c in cols]]
                 for k, label in keys]
        if cols:
            rep.table(header, rows2)
            rep.line("From bench/counts.mjs: the extension against the unit-test fakes (tests/js), 3 loads after 2 "
                     "warm-ups, the responses of a load spread in time, Chromium 156's securityInfo listener called "
                     "without securityInfo.")
            rep.line()
        if real_counts:
            rkeys = [("sessionSets", "storage.session.set calls"), ("sessionBytes", "storage.session.set bytes (JSON)"),
                     ("onChanged", "storage onChanged listener calls"), ("action", "action.* calls"),
                     ("webRequestPerResponse", "webRequest listener calls per response")]
            rep.table(["per load, real headless Chromium (counting build)", *real_counts],
                      [[label, *[f"{c.get(k, 0):.1f}" for c in real_counts.values()]] for k, label in rkeys])
            errors = {b: c["error"] for b, c in real_counts.items() if "error" in c}
            rep.line("Counted by a prelude in the built service worker that wraps the APIs (after the timed rounds; "
                     f"not timed){f'; wrapping errors: {errors}' if errors else ''}.")
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
