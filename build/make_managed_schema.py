#!/usr/bin/env python3
"""Regenerate ``extension/managed_schema.json`` from the one settings schema.

Source: ``native_host/schemas/settings.schema.json`` (committed). The output is
:func:`native_host.schemas.settings.chrome_managed_schema`: the settings whose ``x-rootsentinel-scope`` is
``both``, in Chrome's ``managed_schema`` dialect. ``native_host.install.policy.MANAGED_SCHEMA`` is the same
object, made at import; ``tests/test_settings_schema.py`` checks the committed file equals a fresh generation.

Usage: ``python build/make_managed_schema.py [--check]`` (``--check`` compares instead of writing; exit 1 on a
difference). Deterministic: the same schema gives the same bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from native_host.schemas.settings import chrome_managed_schema  # noqa: E402

OUT = REPO / "extension" / "managed_schema.json"


def render() -> str:
    """The file's text: the generated schema, 2-space indented, a final newline."""
    return json.dumps(chrome_managed_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text("utf-8") == text
        print(f"{OUT.relative_to(REPO)}: {'up to date' if same else 'differs from a fresh generation'}")
        return 0 if same else 1
    OUT.write_text(text, "utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
