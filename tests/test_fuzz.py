"""Fuzz targets (hypothesis) for the frame reader + host loop and for certificate-chain input.

``make test`` runs each for a bounded number of examples (``ROOTSENTINEL_FUZZ_EXAMPLES``, default 60);
``make fuzz`` runs them much longer. A failure is a bug class found by a machine: a reply that is not a
schema-valid frame, an ``internal`` error, an exception other than the documented input errors.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certkit import LEAKED
from native_host.engine.blocklist import bundled
from native_host.engine.certfacts import pem_blocks
from native_host.engine.chains import chain_from_base64, chain_from_bytes
from native_host.engine.publicroots import mozilla
from native_host.engine.verdict import judge
from native_host.errors import BadBase64, BadDER, BadInput, SchemaError
from native_host.messaging.framing import MAX_REPLY_BYTES
from native_host.messaging.host import Host, Service
from native_host.schemas import validate

EXAMPLES = int(os.environ.get("ROOTSENTINEL_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SUPERFISH = pem_blocks((LEAKED / "superfish.crt.pem").read_bytes())[0][1]
EDELL = pem_blocks((LEAKED / "edellroot.crt.pem").read_bytes())[0][1]
SEEDS = [SUPERFISH, EDELL]

HOSTILE_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HOSTILE_TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
                    max_leaves=15)


@st.composite
def messages(draw):
    """A message shaped like the protocol's, with hostile fields: never ``probe`` (no network here)."""
    kind = draw(st.sampled_from(["hello", "check", "check", "frobnicate", None]))
    msg = {} if kind is None else {"type": kind}
    if draw(st.booleans()):
        msg["id"] = draw(st.one_of(st.integers(), HOSTILE_TEXT, JSON))
    if kind == "check":
        form = draw(st.sampled_from(["chain", "securityInfo", "both"]))
        if form in ("chain", "both"):
            msg["chain"] = draw(st.lists(st.one_of(st.builds(lambda b: base64.b64encode(b).decode(), st.binary(max_size=80)),
                                                   st.just(base64.b64encode(SUPERFISH).decode()),
                                                   HOSTILE_TEXT), max_size=3))
        if form in ("securityInfo", "both"):
            msg["securityInfo"] = draw(st.one_of(JSON, st.fixed_dictionaries(
                {"state": st.sampled_from(["secure", "insecure", "weak", "broken"])},
                optional={"certificates": st.lists(st.dictionaries(
                    st.sampled_from(["subject", "issuer", "rawDER", "fingerprint", "isBuiltInRoot", "validity"]), JSON,
                    max_size=6), max_size=3), "fromCache": JSON})))
        if draw(st.booleans()):
            msg["url"] = draw(st.one_of(HOSTILE_TEXT, JSON))
    if kind == "hello" and draw(st.booleans()):
        msg["policy"] = draw(JSON)
    for key, value in draw(st.dictionaries(HOSTILE_TEXT, JSON, max_size=2)).items():
        msg.setdefault(key, value)
    return msg


def _encode(msg) -> bytes:
    return json.dumps(msg).encode("utf-8")  # ensure_ascii: lone surrogates travel as \udXXX escapes


FRAMES = st.lists(st.one_of(messages().map(_encode), st.binary(max_size=64),
                            st.sampled_from([b"[" * 3000, b'{"type":"hello","id":' + b"9" * 5000 + b"}",
                                             b'{"type":"hello","id":"\\ud800"}'])), min_size=1, max_size=8)


def _serve(stream: bytes) -> tuple[int, bytes]:
    read_fd, write_fd = os.pipe()
    out: list[bytes] = []

    def drain():
        chunks = []
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
        os.close(read_fd)
        out.append(b"".join(chunks))

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        code = Host(io.BytesIO(stream), write_fd, Service()).serve()
    finally:
        os.close(write_fd)
        reader.join()
    return code, out[0]


def _replies(data: bytes) -> list[dict]:
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack("=I", data[pos:pos + 4])
        assert 0 < n <= MAX_REPLY_BYTES
        out.append(json.loads(data[pos + 4:pos + 4 + n].decode("utf-8")))
        pos += 4 + n
    return out


@FUZZ
@given(FRAMES)
def test_fuzz_host_loop_answers_every_frame_with_a_valid_reply(payloads):
    stream = b"".join(struct.pack("=I", len(p)) + p for p in payloads)
    code, out = _serve(stream)
    assert code == 0
    replies = _replies(out)
    assert len(replies) == len(payloads)
    for reply in replies:
        validate(f"{reply['type']}.reply", reply) if reply["type"] != "error" else validate("error.reply", reply)
        assert reply.get("code") != "internal", reply


@FUZZ
@given(st.binary(max_size=300), st.lists(st.integers(0, 2**32 - 1), max_size=3))
def test_fuzz_frame_reader_on_arbitrary_bytes(data, lengths):
    """Arbitrary bytes and length prefixes (cut short, zero, huge): the host always ends with exit 0 and
    every reply it wrote is a schema-valid frame."""
    stream = b"".join(struct.pack("=I", n) for n in lengths) + data
    code, out = _serve(stream)
    assert code == 0
    for reply in _replies(out):
        assert reply["type"] in ("hello", "verdict", "error") and reply.get("code") != "internal", reply


@st.composite
def mutated_der(draw):
    seed = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "splice"]))
        pos = draw(st.integers(0, max(len(seed) - 1, 0)))
        if op == "flip" and seed:
            seed[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del seed[pos:pos + draw(st.integers(1, 64))]
        elif op == "insert":
            seed[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            other = draw(st.sampled_from(SEEDS))
            seed[pos:] = other[draw(st.integers(0, len(other) - 1)):]
    return bytes(seed)


@FUZZ
@given(st.lists(mutated_der(), min_size=1, max_size=4))
def test_fuzz_chain_input_is_judged_or_refused(ders):
    """Mutated real certificates, as the protocol's base64 chain and as PEM and DER files: the engine
    gives a schema-valid verdict or a documented input error, nothing else."""
    verdicts = []
    try:
        verdicts.append(judge(chain_from_base64([base64.b64encode(d).decode() for d in ders]), bundled(), mozilla()))
    except (BadDER, BadBase64):
        pass
    pem = b"".join(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(d) + b"-----END CERTIFICATE-----\n" for d in ders)
    for data in (pem, b"".join(ders)):
        try:
            verdicts.append(judge(chain_from_bytes(data), bundled(), mozilla()))
        except (BadDER, BadInput, SchemaError):
            pass
    for verdict in verdicts:
        verdict["id"] = 1
        validate("verdict.reply", verdict)
        if any(d == SUPERFISH for d in ders):
            assert verdict["level"] == "banned"
