"""Run every benchmark and write bench/RESULTS.md (``make bench``).

Each benchmark runs in its own process (so one's memory or imports do not colour another's figures),
prints its figures, and appends its Markdown section; this script adds the machine's description.
Benchmarks print; they never assert and are not tests.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, busy_processes, machine  # noqa: E402

BENCHES = ["bench_verdict.py", "bench_host.py", "bench_coldstart.py", "bench_blocklist.py", "bench_probe.py",
           "bench_firefox.py", "bench_publicroots.py", "bench_intermediates.py", "bench_verify.py", "bench_hostile.py", "bench_catalogue.py"]


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    only = [a for a in sys.argv[1:] if not a.startswith("-")]
    out = REPO / "bench" / ("RESULTS.quick.md" if quick else "RESULTS.md")
    m = machine()
    busy_before = busy_processes()
    started = time.monotonic()
    sections, timings = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in BENCHES:
            if only and not any(o in name for o in only):
                continue
            md = Path(tmp) / f"{name}.md"
            t0 = time.monotonic()
            cmd = [sys.executable, str(REPO / "bench" / name), "--md", str(md)] + (["--quick"] if quick else [])
            code = subprocess.run(cmd, cwd=REPO).returncode
            timings.append(f"{name} {time.monotonic() - t0:.0f} s" + (f" (exit {code})" if code else ""))
            text = md.read_text("utf-8") if md.exists() else ""
            if code and not text:
                text = f"## {name}\n\nFailed to run (exit {code}); see the `make bench` output.\n\n"
            sections.append(text)
    head = [
        "# RootSentinel benchmarks",
        "",
        "Written by `make bench` (`python bench/run_all.py`); every figure below comes from that run. Benchmarks "
        "print figures and never assert. Each ratio is against a baseline measured in the same run (in the same "
        "process where possible, interleaved with the contender), so a busy machine skews both sides alike.",
        "",
        "## Machine",
        "",
        f"- date: {m['date']}",
        f"- CPU: {m['cpu']}, nproc {m['nproc']}; RAM {m['ram']}; kernel {m['kernel']}",
        f"- Python {m['python']} ({m['implementation']}); cryptography {m['cryptography']}; pyOpenSSL "
        f"{m['pyOpenSSL']}; jsonschema {m['jsonschema']}",
        f"- load average at start: {m['loadavg']}; busiest processes at start: {busy_before}",
        f"- busiest processes at the end: {busy_processes()}",
        f"- run time: {time.monotonic() - started:.0f} s ({'; '.join(timings)})",
        "",
        "Noise: this is a shared 2-CPU virtual machine on which other sessions run builds and test suites at "
        "the same time (see the load average), so absolute figures move by 2x between runs; ratios move less.",
        "",
    ]
    notes = REPO / "bench" / "NOTES.md"
    closing = notes.read_text("utf-8") if notes.exists() and not only else ""
    out.write_text("\n".join(head) + "\n" + "".join(sections) + closing, "utf-8")
    print(f"\nwrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
