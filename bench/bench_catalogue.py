"""10. Who intercepts: the catalogue's matching cost per verdict, today's against main's, and the held-out figures.

Matching: the name (and key) of the anchor of each verdict that needs naming (a non-public or banned root) goes
through ``Catalogue.identify_name``; a cold call decodes the DER Name and matches it, a warm one hits the per-name
cache. The workload is every real certificate the catalogue keeps (products' roots, private-PKI roots, the
blocklist's roots), each named as a chain holding only it would be. The baseline is the catalogue on ``main``
(its module and data file read with ``git show`` and loaded beside this one), timed in the same process with
its rounds interleaved with this one's. Load: the first ``bundled()`` of a fresh interpreter (read, ``json.loads``,
compile), each version in its own process, interleaved.

Held-out: each held-out root alone through ``python -m native_host check FILE --json`` (issue 25's measurement):
flagged, named, kind right, wrong product; the blind part was gathered after the entries were frozen.
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, Report, args, summary, us  # noqa: E402

clock = time.perf_counter


def _git_show(ref: str, path: str) -> str | None:
    out = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:{path}"], capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else None


def baseline(ref: str, tmp: Path):
    """(module, Catalogue) of the catalogue at ``ref``, or (None, None) when that ref has none."""
    code = _git_show(ref, "native_host/engine/catalogue.py")
    data = _git_show(ref, "native_host/engine/data/catalogue.json")
    if code is None or data is None:
        return None, None
    (tmp / "old_catalogue.py").write_text(code, "utf-8")
    (tmp / "old_catalogue.json").write_text(data, "utf-8")
    spec = importlib.util.spec_from_file_location("old_catalogue", tmp / "old_catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, module.load_document(json.loads(data), verify=False)


def workload() -> list[tuple[bytes, str | None]]:
    """(anchor DER Name, key hash or None) of every real certificate behind the catalogue."""
    spec = importlib.util.spec_from_file_location("make_catalogue", REPO / "build" / "make_catalogue.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    names = [gen.anchor_name(r["facts"]) for r in gen.load_certificates()]
    banned, _, _ = gen.load_blocklist_roots()
    names += [(b["facts"].subject_der, b["facts"].spki_sha256) for b in banned]
    return names


def time_matching(make, names, rounds: int) -> dict[str, list[float]]:
    """Per-call seconds: cold (a fresh catalogue, every name once) and warm (the same names again)."""
    out = {"cold": [], "warm": []}
    for _ in range(rounds):
        cat = make()
        for name, spki in names:
            t0 = clock()
            cat.identify_name(name, spki)
            out["cold"].append(clock() - t0)
        for name, spki in names:
            t0 = clock()
            cat.identify_name(name, spki)
            out["warm"].append(clock() - t0)
    return out


LOAD = {
    "today": "from native_host.engine import catalogue as c\nt0 = clock(); k = c.bundled(); t1 = clock()",
    "main": ("import importlib.util, json, sys\nspec = importlib.util.spec_from_file_location('old', sys.argv[1])\n"
             "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
             "t0 = clock(); k = m.load_document(json.loads(open(sys.argv[2], encoding='utf-8').read()), verify=False); "
             "t1 = clock()"),
}


def time_load(label: str, tmp: Path) -> float:
    code = ("import time\nclock = time.perf_counter\nimport native_host.engine.der, native_host.errors\n"
            + LOAD[label] + "\nprint(t1 - t0)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp / "old_catalogue.py"), str(tmp / "old_catalogue.json")],
                         cwd=REPO, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def held_out_through_cli() -> tuple[dict, dict]:
    """Issue 25's figures, each held-out root alone through the CLI (all held-out; blind only)."""
    spec = importlib.util.spec_from_file_location("make_catalogue", REPO / "build" / "make_catalogue.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    entries = {e["id"]: e for e in json.loads((REPO / "native_host/engine/data/catalogue.json").read_text())["entries"]}
    figures = {"all": dict.fromkeys(("roots", "flagged", "false ok", "named", "kind right", "wrong product"), 0),
               "blind": dict.fromkeys(("roots", "flagged", "false ok", "named", "kind right", "wrong product"), 0)}
    for rec in gen.load_certificates():
        if rec.get("split") != "held-out":
            continue
        truth = entries[rec["entry"]] if "entry" in rec else rec["uncatalogued"]
        out = subprocess.run([sys.executable, "-m", "native_host", "check", str(gen.SOURCES / rec["file"]), "--json"],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
        v = json.loads(out.stdout)
        who = v.get("interceptor")
        for key in ("all", "blind") if rec.get("blind") else ("all",):
            f = figures[key]
            f["roots"] += 1
            f["flagged"] += v["level"] in ("interception", "banned")
            f["false ok"] += v["level"] == "ok"
            if who is not None and ("entry" not in rec or who["product"] != truth["product"]):
                f["wrong product"] += 1
                continue
            f["named"] += who is not None
            f["kind right"] += (who or {}).get("kind", v["category"]) == truth["kind"]
    return figures["all"], figures["blind"]


def main() -> None:
    a = args(__doc__.splitlines()[0], baseline_ref=(str, "main", "git ref of the catalogue to compare with"))
    rounds, loads = (30, 20) if not a.quick else (4, 3)
    rep = Report("10. Who intercepts: catalogue matching cost and held-out figures")
    rep.line(__doc__.split("\n\n", 1)[1].split("\n\nHeld-out:")[0].replace("\n", " ").strip())
    rep.line()
    from native_host.engine import catalogue as today

    names = workload()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_module, old = baseline(a.baseline_ref, tmp)
        new_doc = json.loads((REPO / "native_host/engine/data/catalogue.json").read_text("utf-8"))
        makers = {"today": lambda: today.load_document(new_doc, verify=False)}
        if old is not None:
            old_doc = json.loads((tmp / "old_catalogue.json").read_text("utf-8"))
            makers["main"] = lambda: old_module.load_document(old_doc, verify=False)
        samples = {k: {"cold": [], "warm": []} for k in makers}
        for _ in range(rounds):  # interleaved: a busy machine skews both alike
            for label in random.sample(list(makers), len(makers)):
                got = time_matching(makers[label], names, 1)
                for case in ("cold", "warm"):
                    samples[label][case] += got[case]
        load = {k: [] for k in makers}
        for _ in range(loads):
            for label in random.sample(list(makers), len(makers)):
                load[label].append(time_load(label, tmp))
    named = {k: sum(1 for n, s in names if makers[k]().identify_name(n, s) is not None) for k in makers}
    rep.line(f"{len(names)} anchor names; today's catalogue has {len(new_doc['entries'])} entries"
             + (f", {a.baseline_ref}'s {len(old)}" if old is not None else "") + f"; {rounds} rounds.")
    rep.line()
    rows = []
    for case in ("cold", "warm"):
        base = summary(samples["main"][case])["median"] if "main" in samples else None
        for label in makers:
            st = summary(samples[label][case])
            rows.append([case, label, us(st["median"]), us(st["p99"]), us(st["mean"]),
                         f"{st['median'] / base:.2f}x" if base else "-"])
    rep.table(["cache", "catalogue", "median per name", "p99", "mean", f"vs {a.baseline_ref}"], rows)
    rows = []
    for label, s in load.items():
        st = summary(s)
        rows.append([label, us(st["median"]), us(st["min"]), str(named[label])])
    rep.table(["catalogue", "load in a fresh interpreter (median)", "min", f"of the {len(names)} names named"], rows)
    everything, blind = held_out_through_cli()
    rep.line("Held-out roots, each alone through `python -m native_host check FILE --json` (issue 25's measurement):")
    rep.line()
    rep.table(["split", "roots", "flagged", "false ok", "product named", "kind right", "wrong product"],
              [[k, f["roots"], f["flagged"], f["false ok"], f"{f['named']} ({f['named'] / f['roots']:.0%})",
                f["kind right"], f["wrong product"]] for k, f in (("all held-out", everything),
                                                                  ("blind (after the freeze)", blind))])
    rep.save(a.md)


if __name__ == "__main__":
    main()
