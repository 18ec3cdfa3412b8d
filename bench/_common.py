"""Shared helpers for the benchmarks: timing, statistics, the machine's description, report sections.

Benchmarks print figures and never assert. Each script prints its section and, when given
``--md PATH``, appends the same Markdown to PATH (``bench/run_all.py`` collects them into RESULTS.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def pct(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank on sorted samples."""
    s = sorted(samples)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary(samples: list[float]) -> dict:
    """median, p99, min, mean and n of samples (any unit)."""
    return {"median": statistics.median(samples), "p99": pct(samples, 99), "min": min(samples),
            "mean": statistics.fmean(samples), "n": len(samples)}


def us(seconds: float) -> str:
    """Seconds as a short human figure in the best unit."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def goal(ok: bool, text: str) -> str:
    return ("met" if ok else "MISSED") + f" ({text})"


def machine() -> dict:
    """What the figures were measured on."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        import cryptography
        crypto = cryptography.__version__
    except ImportError:
        crypto = "not installed"
    try:
        from importlib.metadata import version
        pyopenssl = version("pyOpenSSL")
        jsonschema = version("jsonschema")
    except Exception:  # noqa: BLE001
        pyopenssl = jsonschema = "?"
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "nproc": os.cpu_count(), "cpu": cpu, "ram": mem, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "kernel": platform.release(),
            "cryptography": crypto, "pyOpenSSL": pyopenssl, "jsonschema": jsonschema, "loadavg": load}


def busy_processes(limit: int = 5) -> str:
    """The processes using the most CPU right now (other work on the machine skews timings)."""
    try:
        out = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"], capture_output=True,
                             text=True, timeout=5).stdout.splitlines()[:limit]
        return "; ".join(" ".join(line.split()) for line in out)
    except Exception:  # noqa: BLE001
        return "?"


class Report:
    """Collects a Markdown section, printing each line as it goes."""

    def __init__(self, title: str):
        self.lines = [f"## {title}", ""]
        print(f"\n== {title}", flush=True)

    def line(self, text: str = "") -> None:
        self.lines.append(text)
        print(text, flush=True)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.line("| " + " | ".join(header) + " |")
        self.line("|" + "---|" * len(header))
        for row in rows:
            self.line("| " + " | ".join(str(c) for c in row) + " |")
        self.line()

    def save(self, md: str | None) -> None:
        if md:
            with open(md, "a", encoding="utf-8") as f:
                f.write("\n".join(self.lines) + "\n\n")


def args(description: str, **extra) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--md", help="append the Markdown section to this file")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, not for RESULTS.md)")
    for name, (kind, default, helptext) in extra.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=helptext)
    return p.parse_args()
