"""Audit cost on the thread that answers the browser: what ``AuditLog.__call__`` adds to a verdict, with the
file free and with its lock held (issue 22 item 5), against judging the same chain and against writing the
line synchronously (what the host did before the delivery threads).

Run: ``.venv/bin/python bench/bench_audit.py [N]`` (default 2,000 events). Prints medians and 99th
percentiles in microseconds; all figures from the same process, so read the ratios.
"""

from __future__ import annotations

import fcntl
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from certkit import b64, der, issue_leaf, load_leaked  # noqa: E402
from native_host.engine.chains import chain_from_base64  # noqa: E402
from native_host.enterprise.audit import AuditLog  # noqa: E402
from native_host.enterprise.ecs import ecs_event  # noqa: E402
from native_host.enterprise.sinks import FileSink  # noqa: E402
from native_host.messaging.host import Service  # noqa: E402

clock = time.perf_counter


def p(samples: list[float], q: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(q * len(samples)))]


def line(name: str, samples: list[float], base: float) -> str:
    med = statistics.median(samples)
    return f"{name:<46} median {med * 1e6:8.1f} µs   p99 {p(samples, 0.99) * 1e6:8.1f} µs   {med / base:5.2f}x judge"


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    sf_cert, sf_key = load_leaked("superfish")
    leaf, _ = issue_leaf(sf_cert, sf_key, "bank.example")
    chain = [b64(der(leaf)), b64(der(sf_cert))]
    service = Service()
    service.judge(chain_from_base64(chain, url="https://warm.example/"))
    judge = []
    for i in range(n):
        t0 = clock()
        verdict = service.judge(chain_from_base64(chain, url=f"https://j{i}.example/"))
        judge.append(clock() - t0)
    base = statistics.median(judge)
    print(f"audit cost per verdict, {n} events, one process (2-certificate banned chain)")
    print(line("judge the chain (baseline)", judge, base))
    with tempfile.TemporaryDirectory() as tmp:
        sync = FileSink(Path(tmp) / "sync.jsonl")
        from native_host.textsafe import dumps_json

        timing = []
        for i in range(n):
            t0 = clock()
            sync.deliver((dumps_json(ecs_event({**verdict, "url": f"https://s{i}.example/"}, timestamp=time.time(),
                                               hostname="h")) + "\n").encode())
            timing.append(clock() - t0)
        sync.close()
        print(line("build + write the line synchronously (before)", timing, base))
        for locked in (False, True):
            path = Path(tmp) / f"async-{locked}.jsonl"
            audit = AuditLog(path, window_seconds=0, state_dir=Path(tmp) / "state", lock_wait=0.05)
            holder = None
            if locked:
                path.touch(mode=0o600)
                holder = open(path)  # another open file description: its flock excludes the sink's
                fcntl.flock(holder, fcntl.LOCK_EX)
            timing = []
            for i in range(n):
                t0 = clock()
                audit({**verdict, "url": f"https://a{i}.example/"})
                timing.append(clock() - t0)
                if i % 512 == 511:
                    audit.flush(60)  # stay within the queue: the figure is the caller's cost, not drops
            audit.flush(120)
            name = "AuditLog call, file locked by another holder" if locked else "AuditLog call (queue; worker writes)"
            print(line(name, timing, base) + (f"   dropped {audit.dropped}" if locked else ""))
            audit.close()
            if holder:
                holder.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
