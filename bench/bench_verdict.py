"""1. Verdict latency in process: chain in, verdict dict out, against the floor of parsing and hashing
the same DER with ``cryptography`` alone. Warm (certificate facts cached, as the host sees repeated
intermediates and roots), cold (every cache on the path cleared before every verdict: certificate facts,
decoded Names, display names, OID texts) and new-leaf (a never-seen leaf under
cached intermediate and root: a new site).

floor = for each certificate: ``x509.load_der_x509_certificate(der)`` + ``sha256(der)`` +
``sha256(cert.public_key().public_bytes(DER, SubjectPublicKeyInfo))``.
Each iteration times the floor and the verdict back to back, so both see the same machine state.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

from bench._chains import big_chain, three_chain  # noqa: E402
from bench._common import Report, args, goal, summary, us  # noqa: E402
from native_host.engine import certfacts  # noqa: E402
from native_host.engine.blocklist import bundled  # noqa: E402
from native_host.engine.chains import chain_from_base64  # noqa: E402
from native_host.engine.publicroots import mozilla  # noqa: E402
from native_host.engine.verdict import Chain, judge  # noqa: E402

DER = serialization.Encoding.DER
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
clock = time.perf_counter


def floor(ders: list[bytes]) -> None:
    for d in ders:
        cert = x509.load_der_x509_certificate(d)
        hashlib.sha256(d).digest()
        hashlib.sha256(cert.public_key().public_bytes(DER, SPKI)).digest()


def clear_caches() -> None:
    """Every cache on the verdict path: certificate facts, decoded Names, display names, OID texts, parsed
    certificates and signature results of the path builder."""
    from native_host.engine import der, naming, verify

    verify.clear_caches()
    for fn in (getattr(certfacts, "_cert_facts_cached", None), getattr(certfacts, "_name_text_and_key_cached", None),
               getattr(naming, "_display_name_cached", None), getattr(der, "_decode_oid", None)):
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()


def fresh(ders: list[bytes]) -> list[bytes]:
    """New bytes objects with the same content (as every decoded message gives the host)."""
    return [bytes(bytearray(d)) for d in ders]


def run(ders: list[bytes], n_warm: int, n_cold: int, new_leaves: list[bytes] | None = None) -> dict:
    bl, pub = bundled(), mozilla()
    b64 = [base64.b64encode(d).decode() for d in ders]
    out: dict[str, tuple[list[float], list[float]]] = {}

    def measure(label: str, n: int, prepare, verdict, base=lambda: floor(ders)) -> None:
        f_s, v_s = [], []
        for i in range(n):
            arg = prepare(i)
            t0 = clock()
            base()
            t1 = clock()
            verdict(arg)
            t2 = clock()
            f_s.append(t1 - t0)
            v_s.append(t2 - t1)
        out[label] = (f_s, v_s)

    # warm up: imports, public roots, caches
    for _ in range(200):
        judge(Chain([certfacts.cert_facts(d) for d in fresh(ders)]), bl, pub)
        floor(ders)
    measure("warm, from DER", n_warm, lambda i: fresh(ders),
            lambda ds: judge(Chain([certfacts.cert_facts(d) for d in ds]), bl, pub))
    measure("warm, from base64 (host path)", n_warm, lambda i: b64,
            lambda items: judge(chain_from_base64(items), bl, pub))
    measure("warm, from base64 (host path) vs floor + base64", n_warm, lambda i: b64,
            lambda items: judge(chain_from_base64(items), bl, pub),
            base=lambda: floor([base64.b64decode(x, validate=True) for x in b64]))

    def cold_prepare(i):
        clear_caches()
        return fresh(ders)

    measure("cold cache, from DER", n_cold, cold_prepare,
            lambda ds: judge(Chain([certfacts.cert_facts(d) for d in ds]), bl, pub))
    if new_leaves:
        for d in fresh(ders):
            certfacts.cert_facts(d)
        measure("new leaf, cached intermediate + root", len(new_leaves),
                lambda i: [bytes(bytearray(new_leaves[i]))] + fresh(ders[1:]),
                lambda ds: judge(Chain([certfacts.cert_facts(d) for d in ds]), bl, pub))
    return out


def run_catalogue(n: int) -> list[list[str]]:
    """Verdict cost with the catalogue against the same verdict with an empty catalogue, back to back, on
    interception chains: a root the catalogue names (Zscaler's documented subject), one it does not know
    (every rule tried), each with the per-name cache warm and cleared before every verdict."""
    from cryptography import x509 as _x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    from native_host.engine.catalogue import Catalogue, bundled as bundled_catalogue
    from tests.certkit import der, issue_leaf, make_root

    bl, pub, cat = bundled(), mozilla(), bundled_catalogue()
    empty = Catalogue(cat.version, cat.sha256, [])
    chains = {}
    base, key = make_root("placeholder")
    name = _x509.Name([_x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Zscaler Inc."),
                       _x509.NameAttribute(NameOID.COMMON_NAME, "Zscaler Root CA")])
    named = (_x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
             .serial_number(1).not_valid_before(base.not_valid_before_utc).not_valid_after(base.not_valid_after_utc)
             .add_extension(_x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    chains["named root (Zscaler)"] = [der(issue_leaf(named, key, "intranet.example")[0]), der(named)]
    other, okey = make_root("Some Corporate Root Nobody Catalogued")
    chains["unknown root (all rules tried)"] = [der(issue_leaf(other, okey, "intranet.example")[0]), der(other)]
    rows = []
    for label, ders in chains.items():
        facts = [certfacts.cert_facts(d) for d in ders]
        assert judge(Chain(facts), bl, pub, catalogue=cat)["level"] == "interception"
        for cache in ("warm", "cold"):
            with_s, without_s = [], []
            for _ in range(n):
                if cache == "cold":
                    cat._identify_der.cache_clear()
                t0 = clock()
                judge(Chain(facts), bl, pub, catalogue=empty)
                t1 = clock()
                judge(Chain(facts), bl, pub, catalogue=cat)
                t2 = clock()
                without_s.append(t1 - t0)
                with_s.append(t2 - t1)
            w, wo = summary(with_s), summary(without_s)
            rows.append([label, f"name cache {cache}", us(w["median"]), us(wo["median"]),
                         us(w["median"] - wo["median"]), f"{w['median'] / wo['median']:.2f}x"])
    return rows


def main() -> None:
    a = args(__doc__.splitlines()[0])
    n3, n3c, nb, nbc = (20_000, 3_000, 2_000, 300) if not a.quick else (2_000, 300, 200, 30)
    rep = Report("1. Verdict latency in process")
    rep.line("Figures per verdict (chain of `CertFacts` -> verdict dict via `verdict.judge`). The floor is "
             "`load_der_x509_certificate` + SHA-256 of the DER + SHA-256 of the re-encoded SPKI for every "
             "certificate of the same chain, timed back to back with each verdict. GC on. Warm: the certificate facts "
             "are cached (what the host sees for repeated intermediates and roots); cold: every cache on the path "
             "(`certfacts._cert_facts_cached`, decoded Names, display names, OID texts) cleared before each verdict; "
             "new leaf: a never-seen leaf under a cached intermediate and root (a new site).")
    rep.line()
    three = three_chain()
    # new-leaf case: distinct leaves under the same intermediate
    from tests.certkit import der, issue_leaf, rsa_key, make_root
    root, rk = make_root("RootSentinel Bench Root", key=rsa_key(), country="DE")
    inter, ik = issue_leaf(root, rk, "RootSentinel Bench Intermediate", ca=True, sans=[], key=rsa_key())
    three = [None, der(inter), der(root)]
    leaves = [der(issue_leaf(inter, ik, f"site{i}.example.org", sans=[f"site{i}.example.org"])[0])
              for i in range(n3c)]
    three[0] = leaves[0]
    leaves = leaves[1:]
    big = big_chain()
    rows = []
    verdict_level = judge(Chain([certfacts.cert_facts(d) for d in three]), bundled(), mozilla())["level"]
    results = {}
    for name, ders, nw, nc, nl in (("3-cert chain", three, n3, n3c, leaves),
                                   ("10,000-SAN leaf + root", big, nb, nbc, None)):
        gc.collect()
        res = run(ders, nw, nc, nl)
        results[name] = res
        for label, (f_s, v_s) in res.items():
            f, v = summary(f_s), summary(v_s)
            ratio = v["median"] / f["median"]
            ok = v["median"] < 100e-6 and ratio <= 4
            rows.append([name, label, us(v["median"]), us(v["p99"]), us(f["median"]), f"{ratio:.2f}x",
                         goal(ok, f"median {'<' if v['median'] < 100e-6 else '>='} 100 µs, ratio "
                              f"{'<=' if ratio <= 4 else '>'} 4x")])
    rep.table(["chain", "case", "verdict median", "verdict p99", "floor median", "verdict / floor",
               "goal (< 100 µs and <= 4x floor)"], rows)
    rep.line(f"Sizes: 3-cert chain {sum(len(d) for d in three):,} bytes of DER (verdict `{verdict_level}`); "
             f"10,000-SAN leaf {len(big[0]):,} bytes. Iterations: 3-cert {n3:,} warm / {n3c:,} cold / "
             f"{len(leaves):,} new leaves; 10,000-SAN {nb:,} warm / {nbc:,} cold.")
    rep.line()
    from native_host.engine.catalogue import bundled as bundled_catalogue

    rep.line(f"Who intercepts: the same interception verdict with the bundled catalogue ({len(bundled_catalogue())} "
             "entries, phrases indexed once) and with an empty one, back to back; the name cache is per DER Name "
             "(cold: cleared before every verdict, so the name is decoded and matched again).")
    rep.line()
    rep.table(["anchor", "case", "with catalogue (median)", "without (median)", "matching cost", "with / without"],
              run_catalogue(n3c))
    rep.save(a.md)


if __name__ == "__main__":
    main()
