"""8. Path verification cost per chain (issue 11), against the ``cryptography`` parse + hash floor.

Chains: the real Let's Encrypt R11 under ISRG Root X1 (RSA 4096 signature; the root not sent, taken from
the store), and a 3-certificate ECDSA P-256 chain leaf <- intermediate <- root (the bench root declared
public in a store of its own, so the path ends ``public`` like a real site's).

Cases, each timed back to back with the floor (``load_der_x509_certificate`` + SHA-256 of the DER +
SHA-256 of the re-encoded SPKI for every certificate sent):

- ``build_path`` cold: every cache cleared before each run (certificate facts, parsed certificates,
  link results): parse + every signature checked;
- ``build_path`` warm: the link results cached (what the host sees for repeated intermediates and roots);
- ``build_path`` new leaf: a never-seen leaf under a cached intermediate and root (one signature);
- the same with the whole verdict (``judge``), warm;
- for comparison, ``cryptography.x509.verification`` (``PolicyBuilder().store(...).build_server_verifier``)
  on the ECDSA chain, parsing included: it also checks names, dates and EKU, and fails as a whole.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from bench._common import REPO, Report, args, summary, us  # noqa: E402
from native_host.engine import certfacts, verify  # noqa: E402
from native_host.engine.blocklist import bundled  # noqa: E402
from native_host.engine.publicroots import PublicRoot, PublicRoots, store  # noqa: E402
from native_host.engine.verdict import Chain, judge  # noqa: E402

DER = serialization.Encoding.DER
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
clock = time.perf_counter
NOW = dt.datetime.now(dt.timezone.utc)


def floor(ders: list[bytes]) -> None:
    for d in ders:
        cert = x509.load_der_x509_certificate(d)
        hashlib.sha256(d).digest()
        hashlib.sha256(cert.public_key().public_bytes(DER, SPKI)).digest()


def clear_all() -> None:
    verify.clear_caches()
    certfacts._cert_facts_cached.cache_clear()
    certfacts._name_text_and_key_cached.cache_clear()


def fresh(ders: list[bytes]) -> list[bytes]:
    return [bytes(bytearray(d)) for d in ders]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, key, signer, *, ca: bool, san: str | None = None):
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer)).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=1))
         .not_valid_after(NOW + dt.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    else:
        b = (b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return b.sign(signer, hashes.SHA256())


def ecdsa_chain(n_leaves: int):
    rk, ik = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _cert("Bench Verify Root", "Bench Verify Root", rk, rk, ca=True)
    inter = _cert("Bench Verify Intermediate", "Bench Verify Root", ik, rk, ca=True)
    leaves = [_cert(f"site{i}.example.org", "Bench Verify Intermediate", ec.generate_private_key(ec.SECP256R1()), ik,
                    ca=False, san=f"site{i}.example.org") for i in range(n_leaves + 1)]
    return root, inter, leaves


def timed(n: int, prepare, work, base) -> tuple[dict, dict]:
    f_s, v_s = [], []
    for i in range(n):
        arg = prepare(i)
        t0 = clock()
        base(i)
        t1 = clock()
        work(arg)
        t2 = clock()
        f_s.append(t1 - t0)
        v_s.append(t2 - t1)
    return summary(f_s), summary(v_s)


def main() -> None:
    a = args(__doc__.splitlines()[0])
    n_warm, n_cold = (5_000, 500) if not a.quick else (500, 60)
    rep = Report("8. Path verification per chain")
    rep.line("Per chain; the floor is `load_der_x509_certificate` + SHA-256 of the DER + SHA-256 of the SPKI for "
             "every certificate sent, timed back to back with each run. Cold: certificate facts, parsed "
             "certificates and link results cleared before each run. Warm: link results cached. New leaf: a "
             "never-seen leaf under a cached intermediate and root.")
    rep.line()
    le = [certfacts.pem_blocks((REPO / "tests" / "fixtures" / "letsencrypt" / "r11.pem").read_bytes())[0][1]]
    root, inter, leaves = ecdsa_chain(n_cold)
    ec_ders = [c.public_bytes(DER) for c in (leaves[0], inter)]
    ec_store = PublicRoots([PublicRoot(certfacts.cert_facts(root.public_bytes(DER)), ("mozilla",), None)])
    new_leaves = [c.public_bytes(DER) for c in leaves[1:]]
    bl, real_store = bundled(), store()
    rows = []
    for name, ders, pub in (("R11 <- ISRG Root X1 (store), RSA 4096", le, real_store),
                            ("ECDSA P-256 leaf <- intermediate <- root (store)", ec_ders, ec_store)):
        outcome = verify.build_path([certfacts.cert_facts(d) for d in ders], pub).outcome

        def cold(i, ders=ders):
            clear_all()
            return fresh(ders)

        def path(ds, pub=pub):
            verify.build_path([certfacts.cert_facts(d) for d in ds], pub)

        def verdict(ds, pub=pub):
            judge(Chain([certfacts.cert_facts(d) for d in ds]), bl, pub)

        for _ in range(100):
            path(fresh(ders))
        gc.collect()
        cases = [("build_path, cold", n_cold, cold, path, lambda i, ders=ders: floor(ders)),
                 ("build_path, warm", n_warm, lambda i, ders=ders: fresh(ders), path, lambda i, ders=ders: floor(ders)),
                 ("verdict (judge), warm", n_warm, lambda i, ders=ders: fresh(ders), verdict,
                  lambda i, ders=ders: floor(ders))]
        if len(ders) > 1:
            cases.append(("build_path, new leaf", len(new_leaves),
                          lambda i, ders=ders: [bytes(bytearray(new_leaves[i]))] + fresh(ders[1:]), path,
                          lambda i, ders=ders: floor([new_leaves[i]] + ders[1:])))
        for label, n, prepare, work, base in cases:
            f, v = timed(n, prepare, work, base)
            rows.append([name, f"`{outcome}`", label, us(v["median"]), us(v["p99"]), us(f["median"]),
                         f"{v['median'] / f['median']:.2f}x"])
    # x509.verification for comparison (parse included, as build_path's cold case)
    from cryptography.x509.verification import PolicyBuilder, Store

    pv_store = Store([root])
    verifier = PolicyBuilder().store(pv_store).build_server_verifier(x509.DNSName("site0.example.org"))

    def policy_verify(ds):
        certs = [x509.load_der_x509_certificate(d) for d in ds]
        verifier.verify(certs[0], certs[1:])

    policy_verify(ec_ders)
    f, v = timed(n_warm, lambda i: fresh(ec_ders), policy_verify, lambda i: floor(ec_ders))
    rows.append(["ECDSA P-256 leaf <- intermediate <- root (store)", "valid", "x509.verification server verifier",
                 us(v["median"]), us(v["p99"]), us(f["median"]), f"{v['median'] / f['median']:.2f}x"])
    rep.table(["chain", "outcome", "case", "median", "p99", "floor median", "/ floor"], rows)
    rep.line(f"Iterations: {n_warm:,} warm, {n_cold:,} cold and new-leaf runs per chain. The x509.verification "
             "verifier cannot end a path at a private root and fails as a whole on expiry or a wrong name, so "
             "the product uses `verify_directly_issued_by` per link and reports expiry and names apart.")
    rep.save(a.md)


if __name__ == "__main__":
    main()
