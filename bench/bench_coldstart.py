"""3. Cold start to the first ``hello`` reply: process start -> hello frame written -> reply read.

Contenders, started in turn (shuffled within each round, many rounds; medians): the echo host
(``python bench/echo_host.py``, standard library only), ``python -m native_host host``, and the
PyInstaller bundle ``dist/rootsentinel-host/rootsentinel-host`` when it exists (``make dist``), started
with the argv Firefox gives (manifest path, extension id). Also, to explain the gap: ``python -c`` of
the standard-library modules the host imports before it answers.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, Report, args, busy_processes, goal, summary, us  # noqa: E402
from bench._pipes import ECHO_ARGV, HOST_ARGV, Peer, frame  # noqa: E402

BUNDLE = REPO / "dist" / "rootsentinel-host" / "rootsentinel-host"
HELLO = frame({"type": "hello", "id": 1, "client": "bench/cold-start"})


def first_hello(argv: list[str]) -> float:
    t0 = time.perf_counter()
    peer = Peer(argv)
    peer.write(HELLO)
    reply = peer.read_frame()
    t1 = time.perf_counter()
    peer.close()
    if b'"hello"' not in reply:
        raise RuntimeError(f"{argv[0]}: unexpected first reply {reply[:200]!r}")
    return t1 - t0


def run_c(code: str) -> float:
    """Seconds that ``code`` takes inside a fresh interpreter (the start itself not counted)."""
    wrapped = f"import time\n_t = time.perf_counter()\n{code}\nprint(time.perf_counter() - _t)"
    out = subprocess.run([sys.executable, "-c", wrapped], check=True, cwd=REPO, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    a = args(__doc__.splitlines()[0], rounds=(int, 60, "rounds (each starts every contender once)"))
    rounds = 8 if a.quick else a.rounds
    rep = Report("3. Cold start to the first hello reply")
    # An installed package has its bytecode compiled (pip, PyInstaller); with PYTHONDONTWRITEBYTECODE set (as in
    # this workplace) a module edited since its last .pyc would be compiled from source at every start.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "native_host")], check=False)
    contenders = {"echo host (python bench/echo_host.py)": ECHO_ARGV,
                  "python -m native_host host": HOST_ARGV}
    note = None
    if BUNDLE.exists() and os.access(BUNDLE, os.X_OK):
        built = time.strftime("%H:%M UTC", time.gmtime(BUNDLE.stat().st_mtime))
        note = (f"The bundle was built at {built} by `make dist` (it holds the sources of that time; "
                "it is not rebuilt here).")
        contenders["PyInstaller bundle (dist/rootsentinel-host/)"] = [
            str(BUNDLE), str(REPO / "io.rootsentinel.host.json"), "rootsentinel@rootsentinel.io"]
        # the fair baseline for a bundle: the echo host frozen the same way (onedir), built here into a temp dir
        tmp = tempfile.mkdtemp(prefix="rs-bench-echo-bundle-")
        built_echo = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR", "--onedir", "--name", "echo-host",
             "--distpath", f"{tmp}/dist", "--workpath", f"{tmp}/work", "--specpath", tmp,
             str(REPO / "bench" / "echo_host.py")], capture_output=True, text=True)
        if built_echo.returncode == 0:
            contenders["echo host as a PyInstaller onedir bundle"] = [f"{tmp}/dist/echo-host/echo-host"]
    else:
        note = "The PyInstaller bundle `dist/rootsentinel-host/` is absent (`make dist` builds it): skipped."
    # what the host does before its first reply, timed inside a fresh interpreter each (less noisy than
    # a whole process start): one module's import, or the whole path to the reply
    probes = {"`import native_host.enterprise.config`": "import native_host.enterprise.config",
              "`import native_host.messaging.host`": "import native_host.messaging.host",
              "everything before the reply (`python -m native_host host` path): host, config, bundled "
              "blocklist, Service":
                  "from native_host.messaging.host import Service\n"
                  "from native_host.enterprise.config import load_system_config\n"
                  "Service.from_config(load_system_config())"}
    samples: dict[str, list[float]] = {k: [] for k in [*contenders, *probes]}
    errors: dict[str, str] = {}
    for name, argv in contenders.items():  # warm the page cache once, untimed
        try:
            first_hello(argv)
        except Exception as exc:  # noqa: BLE001 - a broken bundle is reported, not fatal
            errors[name] = f"{type(exc).__name__}: {exc}"
    for name in errors:
        contenders.pop(name)
        samples.pop(name)
    load_before = os.getloadavg()
    for _ in range(rounds):
        order = list(contenders) + list(probes)
        random.shuffle(order)
        for name in order:
            if name in contenders:
                samples[name].append(first_hello(contenders[name]))
            else:
                samples[name].append(run_c(probes[name]))
    load_after = os.getloadavg()
    echo = summary(samples["echo host (python bench/echo_host.py)"])
    echo_frozen = samples.get("echo host as a PyInstaller onedir bundle")
    rows = []
    for name in contenders:
        s = summary(samples[name])
        ratio = s["median"] / echo["median"]
        frozen = ""
        if name.startswith("PyInstaller") and echo_frozen:
            frozen = f"{s['median'] / summary(echo_frozen)['median']:.2f}x"
        rows.append([name, us(s["median"]), us(s["p99"]), us(s["min"]), f"{ratio:.2f}x", frozen,
                     "baseline" if name.startswith("echo") else goal(ratio <= 1.3, f"{ratio:.2f}x vs 1.3x")])
    rep.table(["contender", "median", "p99", "min", "/ echo (median)", "/ frozen echo (median)",
               "goal (<= 1.3x echo)"], rows)
    prow = [[name, us(summary(samples[name])["median"]), us(summary(samples[name])["p99"])] for name in probes]
    rep.line("Where the host's extra time goes: each line timed inside a fresh interpreter, same rounds "
             "(modules that `site` already imported on this machine, e.g. `certifi` via a `.pth` file, are free "
             "here and for the echo host alike):")
    rep.line()
    rep.table(["work before the first reply", "median", "p99"], prow)
    rep.line(f"Bytecode of `native_host/` compiled first (`compileall`), as an installed package has it. "
             f"{rounds} rounds, contenders shuffled within each round, one warm-up start each (untimed). "
             f"Load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPUs; "
             f"busiest processes at the end: {busy_processes()}.")
    if note:
        rep.line()
        rep.line(note)
    for name, err in errors.items():
        rep.line()
        rep.line(f"{name}: could not be measured: {err}")
    rep.save(a.md)
    for argv in contenders.values():
        if argv[0].startswith(tempfile.gettempdir()) and "rs-bench-echo-bundle-" in argv[0]:
            shutil.rmtree(argv[0].split("/dist/")[0], ignore_errors=True)


if __name__ == "__main__":
    main()
