"""Certificate facts on real and deliberately odd certificates (field reports C.12-C.16)."""

from __future__ import annotations

import hashlib
import warnings
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certkit import (BASIC_CONSTRAINTS_CA, LEAKED, OID_BASIC_CONSTRAINTS, OID_C, OID_CN, SOURCES, extension,
                     issue_leaf, make_root, name, raw_certificate, rsa_key, der)
from cryptography.utils import CryptographyDeprecationWarning

from native_host.engine.certfacts import cert_facts, pem_blocks
from native_host.errors import BadDER


def _spki(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


@pytest.mark.parametrize("path", sorted((SOURCES / "certs").glob("*.pem")), ids=lambda p: p.name[:16])
def test_hashes_match_cryptography_and_file_names(path):
    (label, blob), = pem_blocks(path.read_bytes())
    facts = cert_facts(blob)
    with warnings.catch_warnings():
        # three real roots have a non-positive serial (RFC 5280 forbids it); cryptography warns that it will refuse
        # them one day. Our own parser (cert_facts) never needed it: the warning is about the reference parser.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        cert = x509.load_der_x509_certificate(blob)
    assert facts.cert_sha256 == hashlib.sha256(blob).hexdigest()
    assert facts.spki_sha256 == _spki(cert) == path.name[:64]
    assert facts.subject_der == cert.subject.public_bytes()


def test_superfish_real_values():
    (label, blob), = pem_blocks((LEAKED / "superfish.crt.pem").read_bytes())
    facts = cert_facts(blob)
    assert facts.spki_sha256 == "4bb8f35ba1e126f8dde1b0c420625ed86dce61a7bddadbdea9aba578ff13145e"
    assert facts.subject.startswith("CN=Superfish\\, Inc.")
    assert facts.self_issued
    assert facts.parse_error is None


def test_negative_serial_dsdtestprovider_no_warning_on_any_stream():
    code = ("import sys; from native_host.engine.certfacts import cert_facts, pem_blocks; "
            f"from pathlib import Path; d = pem_blocks(Path({str(LEAKED / 'dsdtestprovider.crt.pem')!r}).read_bytes())[0][1]; "
            "f = cert_facts(d); print(f.serial[:9], f.spki_sha256[:8])")
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["-5bb3c7b8", "130ad4e0"]
    assert "Warning" not in out.stderr


def test_duplicate_extensions_keep_hashes_and_names():
    key = rsa_key()
    subj = name((OID_CN, b"dup-ext.example"))
    blob = raw_certificate(subj, subj, key, [extension(OID_BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_CA, True),
                                            extension(OID_BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_CA, True)])
    facts = cert_facts(blob)
    assert facts.cert_sha256 == hashlib.sha256(blob).hexdigest()
    assert facts.subject == "CN=dup-ext.example"
    assert "Duplicate" in facts.parse_error


def test_non_utf8_name_is_replaced_not_fatal():
    key = rsa_key()
    subj = name((OID_CN, b"pfSense caf\xf4 CA"), (OID_C, b"KZ"))
    blob = raw_certificate(subj, subj, key, [])
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(blob).subject  # what cryptography does (pyca#6804)
    facts = cert_facts(blob)
    assert facts.subject == "C=KZ,CN=pfSense caf\ufffd CA"
    assert facts.spki_sha256 is not None


def test_explicit_critical_false_cryptography_refuses_we_still_hash():
    key = rsa_key()
    subj = name((OID_CN, b"encoded-default"))
    blob = raw_certificate(subj, subj, key, [extension(OID_BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_CA, False)])
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(blob)
    facts = cert_facts(blob)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert facts.spki_sha256 == hashlib.sha256(spki).hexdigest()
    assert "refused" in facts.parse_error
    assert facts.subject == "CN=encoded-default"


def test_truncated_certificate_gets_cert_hash_and_parse_error():
    root, key = make_root()
    blob = der(root)[:-40]
    facts = cert_facts(blob)
    assert facts.cert_sha256 == hashlib.sha256(blob).hexdigest()
    assert facts.spki_sha256 is None
    assert "truncated" in facts.parse_error


def test_ten_thousand_sans_parse():
    root, key = make_root()
    leaf, _ = issue_leaf(root, key, "big.example", sans=[f"h{i}.big.example" for i in range(10_000)])
    blob = der(leaf)
    assert len(blob) > 150_000
    facts = cert_facts(blob)
    assert facts.subject == "CN=big.example" and facts.parse_error is None


def test_empty_and_oversized_raise():
    with pytest.raises(BadDER):
        cert_facts(b"")
    with pytest.raises(BadDER):
        cert_facts(b"0" * ((1 << 20) + 1))
