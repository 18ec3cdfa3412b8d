"""Property tests: hostile bytes never crash the DER walker, the facts, the engine or the host loop."""

from __future__ import annotations

import io
import json
import os
import struct
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certkit import LEAKED
from native_host.engine import der as _der
from native_host.engine.blocklist import bundled
from native_host.engine.certfacts import cert_facts, pem_blocks
from native_host.engine.chains import chain_from_base64
from native_host.errors import BadDER
from native_host.messaging.host import Host, Service
from native_host.engine.publicroots import mozilla
from native_host.engine.verdict import Chain, judge

SUPERFISH = pem_blocks((LEAKED / "superfish.crt.pem").read_bytes())[0][1]
SF_SPKI = "4bb8f35ba1e126f8dde1b0c420625ed86dce61a7bddadbdea9aba578ff13145e"


@settings(deadline=None)
@given(st.binary(max_size=512))
def test_walker_raises_only_bad_der(data):
    try:
        _der.split_certificate(data)
    except BadDER:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SUPERFISH) - 1), st.integers(0, 255))
def test_one_byte_mutation_of_a_real_root_is_still_judged(pos, value):
    mutated = bytearray(SUPERFISH)
    mutated[pos] = value
    facts = cert_facts(bytes(mutated))
    verdict = judge(Chain(certs=[facts]), bundled(), mozilla())
    assert verdict["level"] in ("banned", "interception", "unknown")  # a mutated private root is never public
    if verdict["level"] == "unknown":  # the mutation broke the certificate: it says so, it does not guess
        assert verdict["reason"] == "unparseable_leaf" and verdict["chain"][0]["parse_error"]
    if facts.spki_sha256 == SF_SPKI:  # the key survived the mutation: it must still match
        assert verdict["level"] == "banned"


@given(st.lists(st.tuples(st.sampled_from("CN O OU C L".split()),
                          st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
                          .filter(lambda s: s.strip() == s and s.strip())), min_size=1, max_size=5))
def test_name_string_round_trip(pairs):
    text = ",".join(f"{k}={_der._escape(v)}" for k, v in pairs)
    assert _der.parse_name_string(text) == [(k, v) for k, v in pairs]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=64), st.sampled_from([
    b'{"type":"hello","id":1}', b'{"type":"check","id":2,"chain":["AAAA"]}', b"[]", b"{}", b"\xff",
    b'{"type":"check","id":3,"securityInfo":{"state":"insecure"}}'])), max_size=12))
def test_host_answers_every_frame_exactly_once(payloads):
    stream = b"".join(struct.pack("=I", len(p)) + p for p in payloads)
    read_fd, write_fd = os.pipe()
    out = []
    reader = threading.Thread(target=lambda: out.append(_drain(read_fd)))
    reader.start()
    code = Host(io.BytesIO(stream), write_fd, Service()).serve()
    os.close(write_fd)
    reader.join()
    assert code == 0
    replies = _frames(out[0])
    assert len(replies) == len(payloads)
    for payload, reply in zip(payloads, replies):
        assert reply["type"] in ("hello", "verdict", "error")
        if reply["type"] != "error":
            assert reply["id"] == json.loads(payload)["id"]


def _drain(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _frames(data: bytes) -> list[dict]:
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack("=I", data[pos:pos + 4])
        out.append(json.loads(data[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return out


def test_chain_of_only_garbage_is_bad_der():
    import base64
    import pytest
    with pytest.raises(BadDER):
        chain_from_base64([base64.b64encode(b"\x30\x03\x02\x01\x01").decode()])


@settings(deadline=None)  # the first example imports jsonschema
@given(st.dictionaries(st.sampled_from(["type", "id", "client", "policy", "x"]),
                       st.one_of(st.just("hello"), st.integers(), st.booleans(), st.none(),
                                 st.text(max_size=210), st.lists(st.integers(), max_size=2)), max_size=4))
def test_bare_hello_fast_path_agrees_with_schema(msg):
    """The host answers a bare hello without jsonschema; whatever it accepts there, the schema accepts."""
    from native_host.errors import SchemaError
    from native_host.messaging.host import is_bare_hello
    from native_host.schemas import validate

    if is_bare_hello(msg):
        validate("hello.request", msg)
    else:
        try:
            validate("hello.request", msg)
        except SchemaError:
            return
        assert "policy" in msg or set(msg) - {"type", "id", "client"}  # only richer hellos skip the fast path


# --- issue 11: what a server adds never turns a chain ok ---------------------------------------------------

def _le(name: str) -> bytes:
    return pem_blocks((LEAKED.parent / "letsencrypt" / f"{name}.pem").read_bytes())[0][1]


def _extras_and_bases():
    from cryptography import x509

    from certkit import der, issue_leaf, load_leaked, make_root, new_key

    root, key = make_root("Property Private Root")
    private_leaf, _ = issue_leaf(root, key, "p.example")
    inter, inter_key = issue_leaf(root, key, "Property Intermediate", ca=True, sans=[], cn="Property Intermediate")
    deep_leaf, _ = issue_leaf(inter, inter_key, "deep.example")
    sf_cert, sf_key = load_leaked("superfish")
    sf_leaf, _ = issue_leaf(sf_cert, sf_key, "sf.example")
    x1 = x509.load_der_x509_certificate(_le("isrg-root-x1"))
    forged, _ = issue_leaf(None, new_key(), "forged.example", issuer_name=x1.subject,
                           aki=x509.SubjectKeyIdentifier.from_public_key(x1.public_key()).digest)
    bases = {  # chains that are not ok, leaf first, and the level each must keep at least
        "private": [der(private_leaf), der(root)],
        "private_leaf_only": [der(private_leaf)],
        "deep": [der(deep_leaf), der(inter), der(root)],
        "superfish": [der(sf_leaf)],
        "forged": [der(forged)],
        "garbage": [b"\x30\x82\x00\x10" + b"\x01" * 16],
    }
    extras = [_le(n) for n in ("isrg-root-x1", "isrg-root-x2", "r11", "r12", "e5", "e6", "e5-cross")]
    extras += [b"\x30\x03\x02\x01\x00", b"\x00" * 40, der(root), der(inter), SUPERFISH]
    return bases, extras


_BASES, _EXTRAS = _extras_and_bases()
_BASE_VERDICTS = {k: judge(Chain([cert_facts(d) for d in v]), bundled(), mozilla()) for k, v in _BASES.items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_BASES)), st.lists(st.sampled_from(range(len(_EXTRAS))), max_size=6), st.randoms())
def test_appending_or_reordering_what_a_server_could_add_never_makes_ok(base, extra_ix, rnd):
    from native_host.schemas import validate

    leaf, *rest = _BASES[base]
    tail = rest + [_EXTRAS[i] for i in extra_ix]
    rnd.shuffle(tail)
    if tail and rnd.random() < 0.3:
        tail.append(tail[0])  # a duplicate
    verdict = judge(Chain([cert_facts(d) for d in [leaf, *tail]]), bundled(), mozilla())
    validate("verdict.reply", verdict)
    assert _BASE_VERDICTS[base]["level"] != "ok"
    assert verdict["level"] != "ok", (base, verdict["explanation"])
    if _BASE_VERDICTS[base]["level"] == "banned":
        assert verdict["level"] == "banned"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_EXTRAS + [d for v in _BASES.values() for d in v]),
                          st.binary(min_size=1, max_size=64)), min_size=1, max_size=6))
def test_any_chain_gets_a_verdict(ders):
    from native_host.schemas import validate

    verdict = judge(Chain([cert_facts(d) for d in ders]), bundled(), mozilla())
    validate("verdict.reply", verdict)
    if cert_facts(ders[0]).spki_sha256 is None:  # the leaf is not a certificate
        assert verdict["level"] in ("unknown", "banned")
