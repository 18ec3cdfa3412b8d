"""The man page and the bash/zsh completions are generated from the CLI's own parser (build/cli_docs.py, run
by ``make dist``): they exist and name every verb and every blocklist sub-verb."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from native_host.cli import build_parser

REPO = Path(__file__).resolve().parent.parent


def _verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(REPO / "build/cli_docs.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def test_make_dist_generates_them():
    makefile = (REPO / "Makefile").read_text()
    dist_deps = re.search(r"^dist: (.*)$", makefile, re.M).group(1).split()
    assert "dist-cli-docs" in dist_deps
    assert "build/cli_docs.py --out dist" in makefile


def test_man_page_names_every_verb(generated):
    page = (generated / "man/rootsentinel.1").read_text()
    assert page.startswith('.TH ROOTSENTINEL "1"')
    verbs = _verbs(build_parser())
    assert {"check", "host", "install", "uninstall", "doctor", "policy", "blocklist", "scan"} <= set(verbs)
    for verb in verbs:
        assert f"'rootsentinel {verb}'" in page, verb
    for sub in _verbs(verbs["blocklist"]):
        assert f"'rootsentinel blocklist {sub}'" in page, sub
    assert "\\-\\-nss\\-db" in page and "\\-\\-capture" in page  # options come from the same parser


def test_completions_name_every_verb_and_parse(generated):
    bash = (generated / "completion/rootsentinel.bash").read_text()
    zsh = (generated / "completion/_rootsentinel").read_text()
    verbs = _verbs(build_parser())
    for verb in verbs:
        assert re.search(rf"\b{verb}\b", bash) and re.search(rf"\b{verb}\b", zsh), verb
    for sub in _verbs(verbs["blocklist"]):
        assert sub in bash and sub in zsh
    assert zsh.startswith("#compdef rootsentinel")
    assert subprocess.run(["bash", "-n", str(generated / "completion/rootsentinel.bash")]).returncode == 0
    if shutil.which("zsh"):
        assert subprocess.run(["zsh", "-n", str(generated / "completion/_rootsentinel")]).returncode == 0


def test_bash_completion_completes_verbs(generated):
    script = (f"source {generated / 'completion/rootsentinel.bash'}; COMP_WORDS=(rootsentinel bl); COMP_CWORD=1; "
              "_shtab_rootsentinel; printf '%s\\n' \"${COMPREPLY[@]}\"")
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["blocklist"], out.stderr
