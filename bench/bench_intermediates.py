"""8b. Known public intermediates: size, cold load time, and the cost of a path that needs one.

``native_host/engine/data/intermediates.json`` (``build/make_intermediates.py``) is loaded only when a path
does not reach an anchor from what was sent, on its first such path per process. Cold load: a fresh
``python`` process per round (modules imported before the clock starts), the rounds of each line interleaved
in a shuffled order; baselines in the same run: ``json.loads`` of the same file alone, and the public store's
own cold load (``publicroots.store()``). Then, warm, in this process: the verdict on a real Let's Encrypt leaf
sent alone (letsencrypt.org, issued by E7: completed from the known intermediates), against the same leaf
sent with its intermediate (E7 taken from the bundle), interleaved.
"""

from __future__ import annotations

import base64
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, Report, args, summary, us  # noqa: E402

DATA = REPO / "native_host" / "engine" / "data"
LEAF = REPO / "tests" / "fixtures" / "public-leaves" / "letsencrypt-org-e7.pem"

SNIPPETS = {
    "intermediates.bundled() (cold)":
        "import native_host.engine.intermediates as m\n"
        "t0 = clock(); s = m.bundled(); t1 = clock(); n = len(s)",
    "baseline: json.loads of intermediates.json":
        "import json\npath = 'native_host/engine/data/intermediates.json'\n"
        "t0 = clock(); d = json.loads(open(path, encoding='utf-8').read()); t1 = clock(); n = len(d['intermediates'])",
    "baseline: publicroots.store() (cold)":
        "import native_host.engine.publicroots as p\n"
        "t0 = clock(); s = p.store(); t1 = clock(); n = len(s.roots)",
}

PROLOGUE = "import time\nclock = time.perf_counter\nimport native_host.engine.certfacts, cryptography.x509\n"
EPILOGUE = "\nprint((t1 - t0), n)\n"


def once(code: str) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", PROLOGUE + code + EPILOGUE], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    a = args(__doc__.splitlines()[0])
    rounds = 30 if not a.quick else 6
    rep = Report("8b. Known public intermediates")
    rep.line(__doc__.split("\n\n", 1)[1].replace("\n", " ").strip())
    rep.line()
    size = (DATA / "intermediates.json").stat().st_size
    roots_size = (DATA / "publicroots.json").stat().st_size
    import gzip

    packed = len(gzip.compress((DATA / "intermediates.json").read_bytes(), 9))
    rep.line(f"File {size / 1024:.0f} KiB ({packed / 1024:.0f} KiB gzip -9, as in a wheel or .deb), beside "
             f"publicroots.json {roots_size / 1024:.0f} KiB. {rounds} rounds per line.")
    rep.line()
    samples: dict[str, list[float]] = {k: [] for k in SNIPPETS}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        order = list(SNIPPETS)
        random.shuffle(order)
        for label in order:
            t, n = once(SNIPPETS[label])
            samples[label].append(t)
            counts[label] = n
    base = summary(samples["baseline: json.loads of intermediates.json"])["median"]
    rows = []
    for label, s in samples.items():
        st = summary(s)
        rows.append([label, str(counts[label]), us(st["median"]), us(st["p99"]), us(st["min"]),
                     f"{st['median'] / base:.2f}x"])
    rep.table(["load", "certificates", "median", "p99", "min", "vs json.loads"], rows)

    from native_host.engine import verify
    from native_host.engine.blocklist import bundled
    from native_host.engine.certfacts import cert_facts, pem_blocks
    from native_host.engine.chains import chain_from_base64
    from native_host.engine.intermediates import bundled as known
    from native_host.engine.publicroots import store
    from native_host.engine.verdict import judge

    (_, leaf), = pem_blocks(LEAF.read_bytes())
    e7 = next(f for f in known().by_subject(cert_facts(leaf).issuer_der))
    cases = {"leaf alone (issuer from the known intermediates)": [leaf],
             "leaf + its intermediate sent": [leaf, e7.der]}
    bl, pub = bundled(), store()
    levels = {}
    for label, ders in cases.items():  # warm every cache once
        levels[label] = judge(chain_from_base64([base64.b64encode(d).decode() for d in ders]), bl, pub)["level"]
    timed: dict[str, list[float]] = {k: [] for k in cases}
    n = 300 if not a.quick else 40
    for _ in range(n):
        for label in random.sample(list(cases), len(cases)):
            items = [base64.b64encode(d).decode() for d in cases[label]]
            verify.clear_caches()  # every signature checked again; parsed store roots stay (as in the host)
            t0 = time.perf_counter()
            judge(chain_from_base64(items), bl, pub)
            timed[label].append(time.perf_counter() - t0)
    sent = summary(timed["leaf + its intermediate sent"])["median"]
    rows = [[label, levels[label], us(summary(s)["median"]), us(summary(s)["p99"]),
             f"{summary(s)['median'] / sent:.2f}x"] for label, s in timed.items()]
    rep.line()
    rep.table(["verdict on letsencrypt.org's real leaf (links re-verified each run)", "level", "median", "p99",
               "vs sent"], rows)
    # the CA checks (basicConstraints, pathLen, keyUsage) on every verified link: on vs a no-op, interleaved
    real_check = verify.ca_error
    items = [base64.b64encode(d).decode() for d in cases["leaf + its intermediate sent"]]
    ca_timed: dict[str, list[float]] = {"with CA checks": [], "CA checks replaced by a no-op": []}
    for _ in range(n):
        for label in random.sample(list(ca_timed), 2):
            verify.ca_error = real_check if label == "with CA checks" else (lambda *x, **k: None)
            verify.clear_caches()
            t0 = time.perf_counter()
            judge(chain_from_base64(items), bl, pub)
            ca_timed[label].append(time.perf_counter() - t0)
    verify.ca_error = real_check
    off = summary(ca_timed["CA checks replaced by a no-op"])["median"]
    rep.line()
    rep.table(["leaf + E7 sent, links re-verified each run", "median", "p99", "vs no-op"],
              [[label, us(summary(s)["median"]), us(summary(s)["p99"]), f"{summary(s)['median'] / off:.2f}x"]
               for label, s in ca_timed.items()])
    rep.save(a.md)


if __name__ == "__main__":
    main()
