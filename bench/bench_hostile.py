"""Hostile input (issue 13): a good probe under a flood of stalling probes, exit time after EOF with
queued probes, host start with a 50,000-entry signed blocklist, and host memory after many ``check``
messages with fresh leaves.

Every figure is measured against a baseline in the same run:

- flood and EOF: the real host (``python -m native_host host``) against the same host code run with the
  scheduling that main had (4 workers, an unbounded queue, no deadline: :class:`native_host.messaging.host.Host`
  attributes ``probe_workers``, ``probe_queue``, ``probe_deadline``);
- start: an installed signed list with the installer's digest file (what ``blocklist install`` now writes)
  against the same pair without it (the full schema check at every start, as main did), and against the
  bundled list only;
- memory: RSS after N ``check`` messages against RSS after the first 1,000.

Issue 22 (items 4 and 12), each against ``--baseline-tree DIR`` (a checkout of an earlier commit, e.g.
``git worktree add /tmp/base main``; its host measured the same way) when given:

- AIA flood: time to answer a good probe sent after 32 probes of origins whose leaf's caIssuers URL points
  at a server that trickles header bytes (loopback stands for a public server through the launcher's
  explicit seam, as in tests/test_aia_hostile.py);
- large leaves: host RSS after 4,000 ``check`` messages each with a distinct 90 KB leaf.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench._common import REPO, Report, args  # noqa: E402
from bench._pipes import HOST_ARGV, Peer, frame, kib  # noqa: E402

OLD_SCHEDULING = """
import sys
from native_host.messaging import host
sys.argv[1:] = []
out_fd = host.protect_stdout()
h = host.Host(sys.stdin.buffer, out_fd, host.Service())
h.probe_workers, h.probe_queue, h.probe_deadline = 4, 10**9, 1e9


def drain(self, grace):  # main's ThreadPoolExecutor.shutdown(wait=True): every queued probe runs first
    with self._cond:
        while self._queue or self._running:
            self._cond.wait()


host.ProbeScheduler.close = drain
h.serve()
"""
OLD_ARGV = [sys.executable, "-c", OLD_SCHEDULING]


def stalling(n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(256)
        socks.append(s)
    return socks


def tls_server():
    """A TLS server (thread) on 127.0.0.1 presenting a private chain; returns (port, stop)."""
    from cryptography.hazmat.primitives import serialization

    from certkit import issue_leaf, make_root, pem_chain
    from hostkit import tls_server as server

    root, key = make_root("Bench Root")
    leaf, leaf_key = issue_leaf(root, key, "localhost")
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    ctx = server(pem_chain(leaf, root), key_pem)
    return ctx.__enter__(), ctx


def read_frames_until(peer: Peer, want_id, timeout: float) -> float | None:
    """Seconds until the reply with ``want_id`` arrives (other replies are skipped), or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if not peer.buf and not select.select([peer.rfd], [], [], timeout - (time.monotonic() - start))[0]:
            return None
        reply = json.loads(peer.read_frame())
        if reply.get("id") == want_id:
            return time.monotonic() - start
    return None


def flood(argv, good_port: int, n_stall: int = 16) -> float | None:
    socks = stalling(n_stall)
    peer = Peer(argv)
    try:
        peer.roundtrip(frame({"type": "hello", "id": 0}))
        # warm the probe path (pyOpenSSL import) on the good server first
        peer.write(frame({"type": "probe", "id": "warm", "host": "127.0.0.1", "port": good_port}))
        read_frames_until(peer, "warm", 30)
        for i, s in enumerate(socks):
            peer.write(frame({"type": "probe", "id": f"s{i}", "host": "127.0.0.1", "port": s.getsockname()[1]}))
        peer.write(frame({"type": "probe", "id": "good", "host": "127.0.0.1", "port": good_port}))
        return read_frames_until(peer, "good", 60)
    finally:
        peer.proc.kill()
        peer.proc.wait()
        for s in socks:
            s.close()


def exit_after_eof(argv, queued: int, workers: int) -> float:
    """Seconds from closing stdin to exit, with ``queued`` probes waiting behind ``workers`` stalling ones."""
    socks = stalling(queued + workers if queued else 0)
    peer = Peer(argv)
    try:
        peer.roundtrip(frame({"type": "hello", "id": 0}))
        for i, s in enumerate(socks):
            peer.write(frame({"type": "probe", "id": i, "host": "127.0.0.1", "port": s.getsockname()[1]}))
        peer.roundtrip(frame({"type": "hello", "id": "read-all"}))  # every probe frame has been read
        time.sleep(0.5)
        t0 = time.monotonic()
        peer.proc.stdin.close()
        peer.proc.wait(120)
        return time.monotonic() - t0
    finally:
        if peer.proc.poll() is None:
            peer.proc.kill()
        for s in socks:
            s.close()


def big_signed_list(tmp: Path, n: int):
    """A config pinning a fresh key and an installed signed ``n``-entry list; returns (config, list path)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from native_host.enterprise import blocklist_update as bu
    from native_host.engine.blocklist import canonical_entries_sha256

    bundled_doc = json.loads((REPO / "native_host/engine/data/blocklist.json").read_text("utf-8"))
    entries = list(bundled_doc["entries"])
    for i in range(n - len(entries)):
        entries.append({"name": f"Bench banned root {i}", "category": "malware-mitm",
                        "cert_sha256": f"{i:064x}", "spki_sha256": f"{i + 1:064x}",
                        "source": "bench: synthetic", "verified_from_pem": False})
    doc = {**bundled_doc, "version": "2099.01.01", "entries": entries, "size": len(entries),
           "sha256": canonical_entries_sha256(entries)}
    key = Ed25519PrivateKey.generate()
    (tmp / "etc").mkdir(mode=0o755)
    config = tmp / "etc" / "config.json"
    config.write_text(json.dumps({"blocklist_public_key": bu.public_key_b64(key)}))
    update = tmp / "update.json"
    data = json.dumps(doc, separators=(",", ":")).encode()
    update.write_bytes(data)
    bu.signature_path(update).write_bytes(bu.sign_bytes(data, key))
    bu.install_update(update, tmp / "etc" / "blocklist", bu.parse_public_key(bu.public_key_b64(key)))
    return config, tmp / "etc" / "blocklist" / "blocklist-2099.01.01.json", len(data)


def start_to_hello(env: dict) -> tuple[float, dict]:
    t0 = time.monotonic()
    peer = Peer(HOST_ARGV, env=env)
    reply = json.loads(peer.roundtrip(frame({"type": "hello", "id": 1})))
    elapsed = time.monotonic() - t0
    peer.close()
    return elapsed, reply


def fresh_leaves(n: int):
    """``n`` check frames, each with a leaf never seen before (fresh serial, name and key) under one root."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    root_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Memory Root")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    root_b64 = base64.b64encode(root.public_bytes(serialization.Encoding.DER)).decode()
    keys = [ec.generate_private_key(ec.SECP256R1()).public_key() for _ in range(64)]
    for i in range(n):
        leaf = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"h{i}.bench.example")]))
                .issuer_name(root_name).public_key(keys[i % 64]).serial_number(10_000 + i)
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=10))
                .sign(root_key, hashes.SHA256()))
        yield frame({"type": "check", "id": i, "url": f"https://h{i}.bench.example/",
                     "chain": [base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode(), root_b64]})


def seam_argv(tree: Path) -> list[str]:
    """The host of the checkout ``tree``, with 127.0.0.1 allowed as an AIA server (where the rule exists)."""
    code = (f"import sys; sys.path.insert(0, {str(tree)!r})\n"
            "from native_host.messaging import aia\n"
            "if hasattr(aia, 'public_address'):\n"
            "    aia.public_address = lambda a, real=aia.public_address: None if a == '127.0.0.1' else real(a)\n"
            "from native_host.messaging.host import main_from_argv\n"
            "sys.exit(main_from_argv([]))\n")
    return [sys.executable, "-c", code]


def aia_leaf_pem(inter, inter_key, url: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    from certkit import new_key

    key = new_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(inter.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(url))]), False)
            .sign(inter_key, hashes.SHA256()))
    return (leaf.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def aia_flood(argv, good_port: int, n: int = 32) -> float | None:
    """Seconds to answer a good probe sent after ``n`` probes whose AIA server stalls (None: over 60 s)."""
    import contextlib

    from certkit import issue_leaf, make_root
    from hostkit import tls_server as server
    from hostkit import trickler

    root, root_key = make_root("Bench AIA Root")
    inter, inter_key = issue_leaf(root, root_key, "Bench AIA Intermediate")  # any key signs the leaves
    peer = None
    try:
        with contextlib.ExitStack() as stack:
            aia_port = stack.enter_context(trickler(seconds=90))
            ports = [stack.enter_context(server(*aia_leaf_pem(inter, inter_key, f"http://127.0.0.1:{aia_port}/{i}.crt")))
                     for i in range(n)]
            peer = Peer(argv)
            peer.roundtrip(frame({"type": "hello", "id": 0}))
            peer.write(frame({"type": "probe", "id": "warm", "host": "127.0.0.1", "port": good_port}))
            read_frames_until(peer, "warm", 30)
            for i, port in enumerate(ports):
                peer.write(frame({"type": "probe", "id": f"s{i}", "host": "127.0.0.1", "port": port}))
            time.sleep(1.0)  # the stalling probes have their handshakes and wait on AIA
            peer.write(frame({"type": "probe", "id": "good", "host": "127.0.0.1", "port": good_port}))
            return read_frames_until(peer, "good", 60)
    finally:
        if peer is not None:
            peer.proc.kill()
            peer.proc.wait()


def large_leaf_rss(argv, n: int = 4000) -> list[tuple[int, float]]:
    """``(checks, VmRSS MiB)`` over ``n`` checks, each with a distinct 90 KB leaf (a 2,100-name SAN list)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Flood Root")])
    sans = x509.SubjectAlternativeName([x509.DNSName(f"host{j:05d}.a-rather-long-flood-name.example")
                                        for j in range(2100)])
    now = datetime.datetime.now(datetime.timezone.utc)
    peer = Peer(argv)
    rows = []
    try:
        peer.roundtrip(frame({"type": "hello", "id": 0}))
        for i in range(n):
            leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"o{i}")]))
                    .issuer_name(issuer).public_key(key.public_key()).serial_number(100 + i).not_valid_before(now)
                    .not_valid_after(now + datetime.timedelta(days=9)).add_extension(sans, False)
                    .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
            peer.roundtrip(frame({"type": "check", "id": i, "chain": [base64.b64encode(leaf).decode()]}))
            if i + 1 in (1, 1000, 2000, n):
                rows.append((i + 1, kib(peer.status()["VmRSS"])))
    finally:
        peer.close()
    return rows


def issue22(rep: Report, baseline: Path | None, quick: bool) -> None:
    """The issue 22 sections (AIA flood, large leaves), contender = this tree, baseline = ``baseline``."""
    port, server = tls_server()
    hosts = [("this host", seam_argv(REPO))] + ([("baseline tree", seam_argv(baseline))] if baseline else [])
    try:
        flood_t = [(name, aia_flood(argv, port)) for name, argv in hosts]
    finally:
        server.__exit__(None, None, None)
    fmt = lambda t: "no answer in 60 s" if t is None else f"{t * 1000:.0f} ms"  # noqa: E731
    rep.line("Time to answer a good probe sent after 32 probes of origins whose leaf's AIA caIssuers server "
             "trickles header bytes (one byte per 0.3 s):")
    rep.line()
    rep.table(["host", "good probe answered after"], [[name, fmt(t)] for name, t in flood_t])
    n = 500 if quick else 4000
    rss = [(name, large_leaf_rss(argv, n)) for name, argv in hosts]
    rep.line(f"Host RSS over {n:,} `check` messages, each with a distinct 90 KB leaf:")
    rep.line()
    rep.table(["host", *[f"after {c:,}" for c, _ in rss[0][1]]],
              [[name, *[f"{m:.1f} MiB" for _, m in rows]] for name, rows in rss])


def main() -> None:
    a = args(__doc__.splitlines()[0], checks=(int, 100_000, "check messages with fresh leaves"),
             entries=(int, 50_000, "entries of the large signed list"),
             baseline_tree=(str, "", "a checkout of an earlier commit to measure the issue 22 sections against"),
             issue22_only=(int, 0, "1: only the issue 22 sections"))
    checks = 5_000 if a.quick else a.checks
    rep = Report("Hostile input (issues 13, 22): probe flood, EOF, large signed list, memory, AIA flood, large leaves")
    issue22(rep, Path(a.baseline_tree) if a.baseline_tree else None, a.quick)
    if a.issue22_only:
        rep.save(a.md)
        return

    port, server = tls_server()
    try:
        new_t = flood(HOST_ARGV, port)
        old_t = flood(OLD_ARGV, port)
    finally:
        server.__exit__(None, None, None)
    fmt = lambda t: "no answer in 60 s" if t is None else f"{t:.2f} s"  # noqa: E731
    rep.line("Time to answer a good probe sent after 16 probes to servers that accept TCP and never speak TLS:")
    rep.line()
    ratio = f"{old_t / new_t:.0f}x sooner" if new_t and old_t else "-"
    rep.table(["scheduling", "good probe answered after", "vs main's scheduling"],
              [["this host (32 workers, 64 queued, 15 s deadline, shared per origin)", fmt(new_t), ratio],
               ["main's (4 workers, unbounded queue, no deadline)", fmt(old_t), "1x"]])

    from native_host.messaging.host import PROBE_WORKERS

    idle = exit_after_eof(HOST_ARGV, 0, 0)
    new_q = exit_after_eof(HOST_ARGV, 40, PROBE_WORKERS)
    old_q = exit_after_eof(OLD_ARGV, 40, 4)
    rep.line("Exit time after stdin closes (the browser disconnects), with 40 probes queued behind a full set of workers "
             "probing stalling servers:")
    rep.line()
    rep.table(["host", "exit after EOF", "vs an idle host's exit"],
              [["idle (nothing queued)", f"{idle:.2f} s", "1x"],
               ["this host, 40 queued", f"{new_q:.2f} s", f"{new_q / idle:.1f}x"],
               ["main's scheduling, 40 queued", f"{old_q:.2f} s", f"{old_q / idle:.1f}x"]])

    with tempfile.TemporaryDirectory() as tmp:
        config, listed, size = big_signed_list(Path(tmp), a.entries)
        from native_host.enterprise import blocklist_update as bu

        env = {**os.environ, "ROOTSENTINEL_CONFIG": str(config)}
        runs = 3 if a.quick else 5
        digest = [start_to_hello(env) for _ in range(runs)]
        verified = bu.verified_path(listed)
        saved = verified.read_bytes()
        verified.unlink()
        full = [start_to_hello(env)]  # one run: it is the slow path (a minute or more on a loaded machine)
        verified.write_bytes(saved)
        bundled_env = {**os.environ, "ROOTSENTINEL_CONFIG": str(Path(tmp) / "absent.json")}
        base = [start_to_hello(bundled_env) for _ in range(runs)]
    med = lambda xs: sorted(x[0] for x in xs)[len(xs) // 2]  # noqa: E731
    sizes = {digest[0][1]["blocklist"]["size"], full[0][1]["blocklist"]["size"]}
    rep.line(f"Host start to the first `hello` reply with an installed signed list of {a.entries:,} entries "
             f"({size / 1e6:.1f} MB; the hosts reported {sorted(sizes)} entries), median of {runs} starts "
             "(the full-check row: one start):")
    rep.line()
    rep.table(["installed list", "start to hello", "vs bundled list only"],
              [["bundled list only (no config)", f"{med(base):.3f} s", "1x"],
               ["50k signed + installer's digest (signature and digest checked)", f"{med(digest):.3f} s",
                f"{med(digest) / med(base):.1f}x"],
               ["50k signed, no digest (full schema check, as main at every start)", f"{med(full):.3f} s",
                f"{med(full) / med(base):.1f}x"]])

    peer = Peer(HOST_ARGV)
    peer.roundtrip(frame({"type": "hello", "id": 0}))
    marks = {1_000, 10_000, 25_000, 50_000, checks}
    rows, first = [], None
    t0 = time.monotonic()
    for i, msg in enumerate(fresh_leaves(checks), 1):
        reply = json.loads(peer.roundtrip(msg))
        assert reply.get("level") == "interception", reply
        if i in marks:
            st = peer.status()
            rss = kib(st["VmRSS"])
            first = first or rss
            rows.append([f"{i:,}", f"{rss:.1f} MiB", f"{kib(st['VmHWM']):.1f} MiB", f"{rss / first:.2f}x"])
    elapsed = time.monotonic() - t0
    peer.close()
    rep.line(f"Host memory over {checks:,} `check` messages, each with a fresh leaf (new serial, name; 64 keys "
             f"in turn) under one private root ({elapsed:.0f} s including generating the leaves):")
    rep.line()
    rep.table(["after checks", "VmRSS", "VmHWM", "RSS vs after 1,000"], rows)
    rep.save(a.md)


if __name__ == "__main__":
    main()
