#!/usr/bin/env python3
"""Generate the man page and the shell completions of ``rootsentinel`` from its own argparse parser
(:func:`native_host.cli.build_parser`), so they can never drift from the command line.

Writes, under ``--out`` (default ``dist``):

- ``man/rootsentinel.1``: the man page, by argparse-manpage (https://github.com/praiskup/argparse-manpage);
- ``completion/rootsentinel.bash`` and ``completion/_rootsentinel``: bash and zsh completion, by shtab
  (https://github.com/iterative/shtab).

Install them with ``install -Dm644 dist/man/rootsentinel.1 /usr/local/share/man/man1/rootsentinel.1``,
``install -Dm644 dist/completion/rootsentinel.bash /usr/share/bash-completion/completions/rootsentinel`` and
``install -Dm644 dist/completion/_rootsentinel /usr/local/share/zsh/site-functions/_rootsentinel``.

Usage: ``python build/cli_docs.py [--out DIR]`` (``make dist`` runs it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from native_host import __version__  # noqa: E402
from native_host.cli import build_parser  # noqa: E402

NAME_LINE = "tell whether HTTPS connections are intercepted: judge certificate chains against banned and public roots"
"""The man page's NAME line (after ``rootsentinel \\-``)."""


def man_page() -> str:
    """The roff text of ``rootsentinel(1)``."""
    from argparse_manpage.manpage import Manpage

    data = {"project_name": "rootsentinel", "version": __version__, "description": NAME_LINE,
            "manual_title": "RootSentinel manual", "manual_section": "1",
            "url": "https://rootsentinel.io"}
    return str(Manpage(build_parser(), _data=data, format="pretty"))


def completion(shell: str) -> str:
    """The completion script for ``shell`` (``bash`` or ``zsh``)."""
    import shtab

    return shtab.complete(build_parser(), shell=shell)


def write_all(out: Path) -> list[Path]:
    """Write the man page and both completions under ``out``; returns the paths written."""
    files = {out / "man" / "rootsentinel.1": man_page(),
             out / "completion" / "rootsentinel.bash": completion("bash"),
             out / "completion" / "_rootsentinel": completion("zsh")}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return list(files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default dist/)")
    args = parser.parse_args()
    for path in write_all(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
