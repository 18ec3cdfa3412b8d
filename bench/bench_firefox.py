"""7. Page-load overhead in real headless Firefox: one page with 100 subresources on 10 HTTPS origins,
loaded with and without the extension, 20 timed loads each, interleaved.

Uses the end-to-end harness as it is (tests/e2e/firefox.py, pki.py, servers.py; imported, not copied):
three Firefox instances at once, the same test root trusted in each, the same local servers. Instance A
has RootSentinel installed with the real host; instance B is started by the same harness without a host
manifest and the extension is then removed with BiDi ``webExtension.uninstall``, so both profiles are
otherwise identical. Instance C has the extension but no host manifest (the extension's own cost
without any native messaging); with ``--diagnose 1`` two more have one line of the *built copy* of the
extension changed (see VARIANTS; extension/ itself is untouched), to tell where an overhead comes from.
The figure is the page's own ``loadEventEnd`` (Navigation Timing), read in the page; besides the
medians, the per-round paired ratios and their quartiles show how much of it is noise.
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


# Diagnosis variants: the extension as built by the harness, with one line of the built copy changed (the
# sources in extension/ are untouched). Each is skipped when its line is not found.
VARIANTS = {
    "noop": ("a blocking onHeadersReceived listener that returns at once (the cost of the listener alone)",
             "if (details.tabId < 0) return undefined;", "return undefined;"),
    "nochain": ("getSecurityInfo without the certificate chain, so no check goes to the host (what remains without chains, rawDER and host round trips)",
                "{ certificateChain: true, rawDER: true }", "{ certificateChain: false }"),
}


def patched_builder(firefox_module, variant: str | None, skipped: list[str]):
    original = firefox_module.build_extension

    def build(out: Path) -> Path:
        original(out)
        if variant:
            _, old, new = VARIANTS[variant]
            hits = [p for p in out.rglob("capture.js") if old in p.read_text("utf-8")]
            if not hits:
                skipped.append(variant)
            for p in hits[:1]:
                p.write_text(p.read_text("utf-8").replace(old, new, 1), "utf-8")
        return out

    return build


def main() -> None:
    a = args(__doc__.splitlines()[0], loads=(int, 20, "timed loads per browser (issue 6: 20)"),
             diagnose=(int, 0, "1: also the diagnosis variants of the extension (two more browsers)"))
    loads = 4 if a.quick else a.loads
    rep = Report("7. Page-load overhead in headless Firefox")
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
    names = ["with", "without", "nohost", *(VARIANTS if a.diagnose else ())]
    samples = {k: [] for k in names}
    resources = {k: set() for k in names}
    skipped: list[str] = []
    badge = None
    try:
        import contextlib

        import firefox as harness

        with contextlib.ExitStack() as stack:
            browsers = {}
            original = harness.build_extension
            try:
                for name in names:
                    harness.build_extension = patched_builder(harness, name if name in VARIANTS else None, skipped)
                    ff = stack.enter_context(Firefox(trust=[root_pem], host=None if name in ("without", "nohost") else "real"))
                    if name == "without":
                        ff.bidi.cmd("webExtension.uninstall", {"extension": EXTENSION_ID})
                    if name not in skipped:
                        browsers[name] = ff
            finally:
                harness.build_extension = original
            ff_with = browsers["with"]
            n = 0
            for _ in range(3):  # warm-up: connections, host start, caches of both
                for ff in browsers.values():
                    n += 1
                    load(ff, servers, n)
            for _ in range(loads):
                order = list(browsers)
                random.shuffle(order)
                for name in order:
                    n += 1
                    t = load(browsers[name], servers, n)
                    samples[name].append(t["nav"]["loadEventEnd"] / 1000)
                    resources[name].add(t["resources"])
            try:
                tab = ff_with.tab_id(servers[0].url("/page"))
                badge = ff_with.wait_badge(tab, lambda b: b["text"] not in ("", "\u2026"), timeout=10)
            except Exception as exc:  # noqa: BLE001
                badge = {"error": str(exc)}
    finally:
        for s in servers:
            s.__exit__(None, None, None)
        shutil.rmtree(certdir, ignore_errors=True)
    w, wo, nh = summary(samples["with"]), summary(samples["without"]), summary(samples["nohost"])
    over = w["median"] / wo["median"] - 1
    over_nh = nh["median"] / wo["median"] - 1
    variant_rows = []
    for name, (label, _, _) in VARIANTS.items():
        if name not in samples:
            continue
        if name in skipped or not samples[name]:
            variant_rows.append([f"diagnosis: {label}", "skipped (line not found in the built extension)", "", "", ""])
            continue
        v = summary(samples[name])
        variant_rows.append([f"diagnosis, with host: {label}", f"{v['median'] * 1e3:.1f} ms", f"{v['p99'] * 1e3:.1f} ms",
                             f"{statistics.fmean(samples[name]) * 1e3:.1f} ms", f"{(v['median'] / wo['median'] - 1) * 100:+.1f}%"])
    rows = [["without the extension", f"{wo['median'] * 1e3:.1f} ms", f"{wo['p99'] * 1e3:.1f} ms",
             f"{statistics.fmean(samples['without']) * 1e3:.1f} ms", ""],
            ["with RootSentinel + host", f"{w['median'] * 1e3:.1f} ms", f"{w['p99'] * 1e3:.1f} ms",
             f"{statistics.fmean(samples['with']) * 1e3:.1f} ms",
             goal(over < 0.05, f"{over * 100:+.1f}% vs +5%")],
            ["with RootSentinel, no host installed (diagnosis: the extension's own cost)",
             f"{nh['median'] * 1e3:.1f} ms", f"{nh['p99'] * 1e3:.1f} ms",
             f"{statistics.fmean(samples['nohost']) * 1e3:.1f} ms", f"{over_nh * 100:+.1f}%"], *variant_rows]
    rep.table(["Firefox", "load median", "load p99", "mean", "overhead of the median (goal < 5%)"], rows)
    paired = sorted(x / y - 1 for x, y in zip(samples["with"], samples["without"]))
    q = lambda f: paired[min(len(paired) - 1, int(f * len(paired)))]  # noqa: E731
    rep.line(f"Paired by round (each round loads the page once in every browser, in random order): overhead with "
             f"the extension and host, median of the per-round ratios {statistics.median(paired) * 100:+.1f}%, "
             f"quartiles {q(0.25) * 100:+.1f}% .. {q(0.75) * 100:+.1f}%: the spread shows how much of the figure "
             f"is this machine's noise.")
    rep.line()
    rep.line(f"{loads} timed loads per browser after 3 warm-up loads each, interleaved in random order; page with "
             f"{ORIGINS * PER_ORIGIN} images on {ORIGINS} HTTPS origins (127.0.0.1 servers, leaf <- intermediate "
             f"<- private root trusted in every profile, `Cache-Control: no-store`). Resource entries seen per load: "
             f"with {sorted(resources['with'])}, without {sorted(resources['without'])}. All {len(browsers)} browsers run at once. Badge on the last page with "
             f"the extension: {badge}.")
    rep.save(a.md)


if __name__ == "__main__":
    main()
