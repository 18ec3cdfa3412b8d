"""5. Blocklist scale: synthetic lists of 10k, 100k and 1M SPKI entries: load time and lookup time.

What the host does at start: the bundled list is parsed and indexed with ``load_document(verify=False)``;
an installed signed update is re-verified with ``blocklist_update.verify_update_bytes`` (Ed25519 over the
file bytes, ``json.loads``, ``jsonschema``, the canonical content hash, the index), as the installer does.
``jsonschema`` costs about half a millisecond per entry, so above 10k entries it is extrapolated.
Entries look like the bundled ones (every key present, 13 of them, about 400 bytes in the file).
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Report, args, goal, summary, us  # noqa: E402
from native_host.engine import blocklist as bl  # noqa: E402

clock = time.perf_counter


def entry(i: int) -> dict:
    return {"category": "state-mitm", "cert_sha256": hashlib.sha256(b"c" + i.to_bytes(8, "big")).hexdigest(),
            "chromium_list": None, "country": None, "evidence_file": None,
            "name": f"synthetic interception root {i}", "notes": None, "ski": None, "source": "bench: synthetic",
            "spki_sha256": hashlib.sha256(b"s" + i.to_bytes(8, "big")).hexdigest(), "subject": None,
            "subject_key": None, "verified_from_pem": False}


def document(n: int) -> bytes:
    entries = [entry(i) for i in range(n)]
    doc = {"entries": entries, "format": 1, "sha256": bl.canonical_entries_sha256(entries), "size": n,
           "version": "2099.01.01"}
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False).encode("utf-8")


def timed(fn, reps: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(reps):
        out = None
        gc.collect()
        t0 = clock()
        out = fn()
        times.append(clock() - t0)
    return statistics.median(times), out


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def lookups(b: bl.Blocklist, n: int, rounds: int = 200, batch: int = 1000) -> tuple[dict, dict]:
    rng = random.Random(n)
    hits = [entry(rng.randrange(n)) for _ in range(batch)]
    hit_keys = [(e["cert_sha256"], e["spki_sha256"]) for e in hits]
    miss_keys = [(hashlib.sha256(b"m" + i.to_bytes(8, "big")).hexdigest(),
                  hashlib.sha256(b"n" + i.to_bytes(8, "big")).hexdigest()) for i in range(batch)]
    out = []
    for keys in (hit_keys, miss_keys):
        per = []
        lookup = b.lookup
        for _ in range(rounds):
            t0 = clock()
            for c, s in keys:
                lookup(c, s)
            per.append((clock() - t0) / batch)
        out.append(summary(per))
    return out[0], out[1]


def main() -> None:
    a = args(__doc__.splitlines()[0])
    sizes = [10_000, 100_000] if a.quick else [10_000, 100_000, 1_000_000]
    from native_host.enterprise.blocklist_update import decode_signature, generate_private_key, sign_bytes, verify_update_bytes
    from native_host.schemas import validator

    key = generate_private_key()
    pub = key.public_key()
    rep = Report("5. Blocklist scale")
    rows, lrows, packed_rows, start_parts = [], [], [], []
    schema_per_entry = None
    for n in sizes:
        reps = 5 if n <= 10_000 else (3 if n <= 100_000 else 1)
        data = document(n)
        text = data.decode("utf-8")
        sig = sign_bytes(data, key)
        gc.collect()
        rss0 = rss_mib()
        t_parse, doc = timed(lambda: json.loads(text), reps)
        t_index, b = timed(lambda: bl.load_document(doc, verify=False), reps)
        rss1 = rss_mib()
        t_hash, _ = timed(lambda: bl.canonical_entries_sha256(doc["entries"]), reps)
        raw_sig = decode_signature(sig)
        t_sig, _ = timed(lambda: pub.verify(raw_sig, data), reps)
        if n <= 10_000:
            t_schema, _ = timed(lambda: next(iter(validator("blocklist").iter_errors(doc)), None), 1)
            schema_per_entry = t_schema / n
            schema = us(t_schema)
            t_start_verified, _ = timed(lambda: verify_update_bytes(data, sig, pub), 1)
            start = us(t_start_verified)
        else:
            t_schema = schema_per_entry * n
            schema = f"~{us(t_schema)} (extrapolated from 10k)"
            t_start_verified = t_sig + t_parse + t_schema + t_hash + t_index
            start = f"~{us(t_start_verified)} (sum of the parts)"
        start_parts.append([f"{n:,}", start, us(t_sig), us(t_parse), schema, us(t_hash), us(t_index),
                            us(t_sig + t_parse + t_index)])
        bundled_style = t_parse + t_index
        rows.append([f"{n:,}", f"{len(data) / 1e6:.1f} MB", us(t_parse), us(t_index), us(bundled_style),
                     us(t_hash), schema, start,
                     goal(t_start_verified < 1.0, f"verified start {us(t_start_verified)} vs 1 s") if n == 1_000_000
                     else "", f"{rss1 - rss0:.0f} MiB"])
        hit, miss = lookups(b, n)
        lrows.append([f"{n:,}", f"{hit['median'] * 1e9:.0f} ns", f"{hit['p99'] * 1e9:.0f} ns",
                      f"{miss['median'] * 1e9:.0f} ns", f"{miss['p99'] * 1e9:.0f} ns"])
        # prototype of a packed format for bulk key lists (not in the host): one metadata object shared by
        # every key, the keys as one string of concatenated hex; load = fromhex + content hash + a set
        packed = json.dumps({"name": "synthetic", "category": "state-mitm",
                             "spki_sha256_hex": "".join(e["spki_sha256"] for e in doc["entries"])}).encode()

        def load_packed():
            obj = json.loads(packed)
            raw = bytes.fromhex(obj["spki_sha256_hex"])
            hashlib.sha256(raw).hexdigest()
            mv = memoryview(raw)
            return {bytes(mv[i:i + 32]) for i in range(0, len(raw), 32)}

        t_packed, keyset = timed(load_packed, reps)
        probe = [bytes.fromhex(k[1]) for k in [(0, entry(i)["spki_sha256"]) for i in range(0, n, max(1, n // 1000))]]
        t0 = clock()
        for _ in range(100):
            for k in probe:
                k in keyset  # noqa: B015
        t_packed_lookup = (clock() - t0) / (100 * len(probe))
        packed_rows.append([f"{n:,}", f"{len(packed) / 1e6:.1f} MB", us(t_packed), f"{t_packed_lookup * 1e9:.0f} ns",
                            goal(t_packed < 1.0, f"{us(t_packed)} vs 1 s") if n == 1_000_000 else ""])
        del doc, b, data, text, packed, keyset
        gc.collect()
    rep.table(["entries", "file", "json.loads", "index (`load_document(verify=False)`)",
               "bundled-list path (loads + index)", "canonical content hash", "jsonschema alone",
               "installer and host start with a signed update (`verify_update_bytes`)", "goal (1M < 1 s)",
               "RSS of parsed doc + index"], rows)
    rep.line("Where the host's start with a signed update spends its time (each part timed alone):")
    rep.line()
    rep.table(["entries", "`verify_update_bytes`", "Ed25519 verify of the file bytes", "json.loads",
               "jsonschema", "canonical content hash", "index",
               "signature + loads + index only (if start trusted the installer's checks of the signed bytes)"],
              start_parts)
    rep.line("Lookup (`Blocklist.lookup(cert_sha256, spki_sha256)`), mean of batches of 1,000 lookups, 200 batches:")
    rep.line()
    rep.table(["entries", "hit median", "hit p99", "miss median", "miss p99"], lrows)
    rep.line("Proposed packed format for bulk key lists (a prototype measured here, not implemented in the host): "
             "entries that share name/category/source carry their SPKI hashes as one string of concatenated hex; "
             "load = `json.loads` + `bytes.fromhex` + SHA-256 of the keys (content hash) + a set of 32-byte keys; "
             "lookup = `bytes.fromhex(spki) in set`:")
    rep.line()
    rep.table(["entries", "file", "load", "lookup", "goal (1M < 1 s)"], packed_rows)
    rep.line("Lookups are two dict probes: flat from 10k to 1M (goal met) apart from cache effects of a larger "
             "table. Medians of 5 (10k), 3 (100k) and 1 (1M) loads.")
    rep.save(a.md)


if __name__ == "__main__":
    main()
