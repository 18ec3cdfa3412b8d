"""8. Public store load time, cold: the first ``publicroots.store()`` of a fresh interpreter.

What the host pays once, on the first ``check`` (or on its warm-up thread after ``hello``): read
``native_host/engine/data/publicroots.json``, ``json.loads`` it, decode each root's base64 DER and build its
``CertFacts`` from the facts the build stored (no X.509 parse), and index by certificate hash, key hash and
subject Name. Each round is a fresh ``python`` process (modules imported before the clock starts, so only
the load is timed); the rounds of every line are interleaved in a shuffled order.

Baselines, each in its own fresh process: ``json.loads`` of the same file alone (the floor of any JSON
store), and the former way: ``load_pem_bundle`` of the Mozilla bundle (``cert_facts`` of all 117 PEM
roots, a strict ``cryptography`` parse each), which is what reading certifi's file cost before; and the
same over all 221 roots of the store (what a store without stored facts would cost).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, Report, args, summary, us  # noqa: E402

SNIPPETS = {
    "store() (bundled JSON, stored facts)":
        "import native_host.engine.publicroots as p\n"
        "t0 = clock(); s = p.store(); t1 = clock(); n = len(s.roots)",
    "baseline: json.loads of publicroots.json":
        "import json\npath = 'native_host/engine/data/publicroots.json'\n"
        "t0 = clock(); d = json.loads(open(path, encoding='utf-8').read()); t1 = clock(); n = len(d['roots'])",
    "baseline: load_pem_bundle(Mozilla cacert.pem), 117 parses":
        "import native_host.engine.publicroots as p\npath = 'build/publicroots-sources/mozilla/cacert.pem'\n"
        "t0 = clock(); s = p.load_pem_bundle(path); t1 = clock(); n = len(s.roots)",
    "baseline: cert_facts of all 221 store roots":
        "import base64, json\nfrom native_host.engine.certfacts import cert_facts\n"
        "ders = [base64.b64decode(r['der']) for r in json.load(open('native_host/engine/data/publicroots.json'))['roots']]\n"
        "t0 = clock(); fs = [cert_facts(d) for d in ders]; t1 = clock(); n = len(fs)",
}

PROLOGUE = "import time\nclock = time.perf_counter\nimport native_host.engine.certfacts, cryptography.x509\n"
EPILOGUE = "\nprint((t1 - t0), n)\n"


def once(code: str) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", PROLOGUE + code + EPILOGUE], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    a = args(__doc__.splitlines()[0])
    rounds = 40 if not a.quick else 6
    rep = Report("8. Public store load time (cold)")
    rep.line(__doc__.split("\n\n", 1)[1].replace("\n", " ").strip())
    rep.line()
    doc = json.loads((REPO / "native_host" / "engine" / "data" / "publicroots.json").read_text("utf-8"))
    size = (REPO / "native_host" / "engine" / "data" / "publicroots.json").stat().st_size
    rep.line(f"Store version {doc['version']}: {doc['size']} roots ({doc['counts']['trusted']} trusted: "
             f"{doc['counts']['mozilla']} Mozilla, {doc['counts']['chrome']} Chrome, {doc['counts']['both']} both; "
             f"{doc['counts']['removed']} removed by Mozilla), file {size / 1024:.0f} KiB. {rounds} rounds per line.")
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
    base = summary(samples["baseline: json.loads of publicroots.json"])["median"]
    rows = []
    for label, s in samples.items():
        st = summary(s)
        rows.append([label, str(counts[label]), us(st["median"]), us(st["p99"]), us(st["min"]),
                     f"{st['median'] / base:.2f}x"])
    rep.table(["load", "roots", "median", "p99", "min", "vs json.loads"], rows)
    store_med = summary(samples["store() (bundled JSON, stored facts)"])["median"]
    pem_med = summary(samples["baseline: load_pem_bundle(Mozilla cacert.pem), 117 parses"])["median"]
    all_med = summary(samples["baseline: cert_facts of all 221 store roots"])["median"]
    rep.line(f"The bundled store loads in {us(store_med)} (median, cold): {pem_med / store_med:.1f}x faster than "
             f"parsing Mozilla's 117 roots as the host did from certifi, {all_med / store_med:.1f}x faster than "
             f"parsing all {doc['size']} roots, for almost twice the roots.")
    rep.save(a.md)


if __name__ == "__main__":
    main()
