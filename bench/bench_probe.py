"""6. Probe against a local TLS server (Python ``ssl`` on 127.0.0.1 presenting leaf + intermediate),
against ``openssl s_client -showcerts`` on the same server.

Contenders, interleaved round by round: ``probe.probe()`` in this process (connect + handshake + chain),
``Service.probe()`` in this process (the same plus the verdict), ``openssl s_client -showcerts -connect``
as a process, and ``python -m native_host check 127.0.0.1:PORT --json`` as a process (the same kind of
measurement as openssl's: process start included).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, Report, args, summary, us  # noqa: E402
from tests.certkit import issue_leaf, make_root, pem_chain  # noqa: E402
from tests.hostkit import tls_server  # noqa: E402

clock = time.perf_counter


def main() -> None:
    a = args(__doc__.splitlines()[0], rounds=(int, 60, "rounds"))
    rounds = 8 if a.quick else a.rounds
    rep = Report("6. Probe against a local TLS server")
    openssl = shutil.which("openssl")
    from cryptography.hazmat.primitives import serialization

    from native_host.messaging.host import Service
    from native_host.messaging.probe import probe

    root, root_key = make_root("RootSentinel Bench Probe Root")
    inter, inter_key = issue_leaf(root, root_key, "RootSentinel Bench Probe Intermediate", ca=True, sans=[])
    leaf, leaf_key = issue_leaf(inter, inter_key, "127.0.0.1", sans=["127.0.0.1", "localhost"])
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    service = Service()
    _ = service.public
    with tls_server(pem_chain(leaf, inter), key_pem) as port:
        contenders = {
            "probe() in process": lambda: probe("127.0.0.1", port),
            "Service.probe() in process (probe + verdict)": lambda: service.probe("127.0.0.1", port),
            "python -m native_host check 127.0.0.1:PORT --json (process)": lambda: subprocess.run(
                [sys.executable, "-m", "native_host", "check", f"127.0.0.1:{port}", "--json"], cwd=REPO,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        }
        if openssl:
            contenders["openssl s_client -showcerts (process)"] = lambda: subprocess.run(
                [openssl, "s_client", "-showcerts", "-connect", f"127.0.0.1:{port}"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        seen = probe("127.0.0.1", port)
        for fn in contenders.values():  # warm-up
            fn()
        samples = {k: [] for k in contenders}
        for _ in range(rounds):
            order = list(contenders)
            random.shuffle(order)
            for name in order:
                t0 = clock()
                contenders[name]()
                samples[name].append(clock() - t0)
    rows = []
    base = summary(samples["openssl s_client -showcerts (process)"])["median"] if openssl else None
    for name, s in samples.items():
        m = summary(s)
        rows.append([name, us(m["median"]), us(m["p99"]), f"{m['median'] / base:.2f}x" if base else "n/a"])
    rep.table(["contender", "median", "p99", "/ openssl s_client (median)"], rows)
    rep.line(f"The server presented {len(seen.chain)} certificates ({seen.protocol}); {rounds} rounds, order "
             "shuffled per round, one untimed warm-up each." + ("" if openssl else " openssl is not installed "
                                                                "(`apt-get install -y openssl`): no baseline."))
    rep.save(a.md)


if __name__ == "__main__":
    main()
