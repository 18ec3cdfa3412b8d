"""2. Host round trip over real pipes (real ``python -m native_host host`` against the echo host) and
4. peak RSS of the host after the checks.

Both processes run at once; the client sends one frame, waits for the reply, and alternates blocks of
1,000 messages between the two hosts so that both see the same machine state. Messages: ``check`` with
the 3-certificate chain as base64 (the protocol's ``chain``), and ``check`` with a Firefox
``securityInfo`` carrying ``rawDER`` byte arrays (what the Firefox extension sends for certificates new to
it), and the same without ``rawDER`` (what it sends once the host has judged those certificates).
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._chains import three_chain  # noqa: E402
from bench._common import Report, args, goal, summary, us  # noqa: E402
from bench._pipes import ECHO_ARGV, HOST_ARGV, Peer, frame, kib  # noqa: E402
from tests.certkit import security_info  # noqa: E402

clock = time.perf_counter
BLOCK = 1000


def messages(kind: str, n: int, ders: list[bytes]) -> list[bytes]:
    url = "https://www.example.org/"
    if kind == "chain":
        chain = [base64.b64encode(d).decode() for d in ders]
        return [frame({"type": "check", "id": i, "url": url, "chain": chain}) for i in range(n)]
    info = security_info(ders)
    if kind == "securityInfo, DER stripped":
        # what the extension sends for certificates the host already judged (extension/src/core/cache.js)
        info = {**info, "certificates": [{k: v for k, v in c.items() if k != "rawDER"} for c in info["certificates"]]}
    return [frame({"type": "check", "id": i, "url": url, "securityInfo": info}) for i in range(n)]


def main() -> None:
    a = args(__doc__.splitlines()[0], n=(int, 10_000, "check messages per host and per form"))
    n = 1_000 if a.quick else a.n
    ders = three_chain()
    rep = Report("2. Host round trip over pipes, and 4. peak RSS")
    host, echo = Peer(HOST_ARGV), Peer(ECHO_ARGV)
    for p in (host, echo):
        p.roundtrip(frame({"type": "hello", "id": 0, "client": "bench"}))
    rows, sizes = [], {}
    hwm_rows = []
    for kind in ("chain", "securityInfo", "securityInfo, DER stripped"):
        msgs = messages(kind, n, ders)
        # warm up both (imports on first check, caches)
        first = json.loads(host.roundtrip(msgs[0]))
        sizes[kind] = (len(msgs[0]), None)
        for m in msgs[:200]:
            host.roundtrip(m)
            echo.roundtrip(m)
        reply_len = len(host.roundtrip(msgs[0]))
        sizes[kind] = (len(msgs[0]) - 4, reply_len, first.get("type"), first.get("level"))
        samples = {"host": [], "echo": []}
        wall = {"host": 0.0, "echo": 0.0}
        for start in range(0, n, BLOCK):
            for name, peer in (("host", host), ("echo", echo)):
                s = samples[name]
                w0 = clock()
                for m in msgs[start:start + BLOCK]:
                    t0 = clock()
                    peer.roundtrip(m)
                    s.append(clock() - t0)
                wall[name] += clock() - w0
        h, e = summary(samples["host"]), summary(samples["echo"])
        rows.append([f"`check` ({kind})", us(h["median"]), us(h["p99"]), f"{n / wall['host']:,.0f}",
                     us(e["median"]), us(e["p99"]), f"{n / wall['echo']:,.0f}", f"{h['median'] / e['median']:.2f}x",
                     goal(h["median"] < 0.5e-3, f"median {us(h['median'])} vs 0.5 ms")])
        st_h, st_e = host.status(), echo.status()
        hwm_rows.append([f"after {n:,} `check` ({kind})" + (" and the forms above" if kind != "chain" else ""),
                         f"{kib(st_h['VmHWM']):.1f} MiB", f"{kib(st_h['VmRSS']):.1f} MiB",
                         f"{kib(st_e['VmHWM']):.1f} MiB",
                         goal(kib(st_h["VmHWM"]) < 40, f"{kib(st_h['VmHWM']):.1f} MiB vs 40 MiB")])
    rep.table(["messages", "host median", "host p99", "host msgs/s", "echo median", "echo p99", "echo msgs/s",
               "host / echo (median)", "goal (median < 0.5 ms)"], rows)
    for kind, (req, rsp, typ, level) in sizes.items():
        rep.line(f"- `{kind}` form: request {req:,} bytes, reply {rsp:,} bytes (`{typ}`, level `{level}`); "
                 f"the echo host returns the request.")
    rep.line(f"- {n:,} messages per form and per host, alternated in blocks of {BLOCK:,}; msgs/s is messages "
             "over the wall time of the blocks (one message in flight at a time).")
    rep.line()
    rep.line("Peak RSS (`VmHWM` of `/proc/<pid>/status`), the echo host as baseline:")
    rep.line()
    rep.table(["when", "host VmHWM", "host VmRSS", "echo host VmHWM", "goal (< 40 MB)"], hwm_rows)
    host.close()
    echo.close()
    rep.save(a.md)


if __name__ == "__main__":
    main()
