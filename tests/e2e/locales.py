"""Messages of the extension's locales, as ``browser.i18n.getMessage`` fills them, for assertions.

Real-browser tests compare what the popup shows with the text in ``extension/_locales/<lang>/messages.json``,
so a change of wording changes one file, not every assertion.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

_LOCALES = Path(__file__).resolve().parents[2] / "extension" / "_locales"


@cache
def catalogue(lang: str) -> dict:
    return json.loads((_LOCALES / lang / "messages.json").read_text(encoding="utf-8"))


def msg(lang: str, key: str, *subs: str) -> str:
    """The message ``key`` in ``lang`` with ``subs`` for $1, $2, … (named placeholders first, as WebExtensions do)."""
    entry = catalogue(lang)[key]
    placeholders = {k.lower(): v["content"] for k, v in entry.get("placeholders", {}).items()}
    text = re.sub(r"\$([A-Za-z0-9_@]+)\$", lambda m: placeholders.get(m.group(1).lower(), m.group(0)), entry["message"])
    return re.sub(r"\$(\d)", lambda m: subs[int(m.group(1)) - 1] if int(m.group(1)) <= len(subs) else "", text)
