"""``make run`` (build/demo.py): each step says what it shows, exit codes are printed as meaning, and the
demo itself exits 0 (make never reports an ignored error)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_demo_explains_each_step_and_exits_zero():
    out = subprocess.run([sys.executable, str(REPO / "build/demo.py")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    steps = re.findall(r"^== (\d)\. (.+)$", out.stdout, re.M)
    assert [n for n, _ in steps] == ["1", "2", "3"]
    assert "Kazakhstan" in steps[0][1] and "Superfish" in steps[1][1] and "private root" in steps[2][1]
    codes = re.findall(r"^-> exit code (\d) = (.+) \(as expected\)$", out.stdout, re.M)
    assert codes == [("2", "banned"), ("2", "banned"), ("1", "notice or interception")]
    assert out.stdout.count("BANNED (state-mitm)") == 1 and out.stdout.count("BANNED (malware-mitm)") == 1
    assert "INTERCEPTION" in out.stdout


def test_make_run_ignores_no_error():
    recipe = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run"], capture_output=True, text=True, cwd=REPO,
                            timeout=60)
    run_lines = [line for line in recipe.stdout.splitlines() if "demo.py" in line or "native_host check" in line]
    assert run_lines == [".venv/bin/python build/demo.py"], recipe.stdout
    makefile = (REPO / "Makefile").read_text()
    body = makefile.split("\nrun: setup-run\n", 1)[1].split("\n\n", 1)[0]
    assert not any(line.startswith("\t-") for line in body.splitlines())  # no "Error 2 (ignored)"
