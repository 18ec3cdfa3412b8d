"""Host memory under a flood of distinct large leaves (issue 22, item 12): every certificate cache is
bounded in bytes, not only in entries. The RSS figures (4,000 checks of distinct 90 KB leaves: before and
after) are in bench/RESULTS.hostile.md (bench/bench_hostile.py); this test checks the bounds themselves."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certkit import b64
from native_host.engine import certfacts, verify
from native_host.engine.bounded import BoundedCache
from native_host.messaging.service import Service


def big_leaves(n: int):
    """``n`` distinct leaves of about 90 KB each (a 2,100-name SAN list), one issuer."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Flood Root")])
    sans = [x509.DNSName(f"host{j:05d}.a-rather-long-flood-name.example") for j in range(2100)]
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(n):
        yield (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"o{i}")]))
               .issuer_name(name).public_key(key.public_key()).serial_number(10 + i).not_valid_before(now)
               .not_valid_after(now + dt.timedelta(days=9)).add_extension(x509.SubjectAlternativeName(sans), False)
               .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def test_certificate_caches_stay_within_their_byte_budgets():
    service = Service()
    sizes = []
    for i, der in enumerate(big_leaves(250)):
        sizes.append(len(der))
        reply = service.check({"type": "check", "id": i, "chain": [b64(der)]})
        assert reply["level"] == "interception"
    assert min(sizes) > 88_000
    # 250 x 90 KB = 22 MB of DER went through; each cache keeps at most its budget
    assert certfacts._cert_facts_cached.cache.bytes <= 8 << 20
    assert verify._CERTS.bytes <= 8 << 20
    assert 0 < len(certfacts._cert_facts_cached.cache) < 250


def test_bounded_cache_evicts_by_bytes_and_refuses_a_giant():
    cache = BoundedCache(max_entries=100, max_bytes=1000)
    for i in range(10):
        cache.put(i, str(i), 200)
    assert cache.bytes <= 1000 and len(cache) == 5 and cache.get(9) == "9" and cache.get(0) is None
    cache.put("giant", "x", 251)  # over a quarter of the budget: not kept, nothing flushed
    assert cache.get("giant") is None and len(cache) == 5
