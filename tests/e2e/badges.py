"""The badge text of each level, read from the English locale the browsers run with.

Real-browser tests compare the badge they read back with these, so a change of the badge codes in
``extension/_locales/en/messages.json`` (keys ``badge_text_<level>``) changes one file, not every
assertion. ``ok`` has no badge text (levels.js ``BADGE.ok``).
"""

import json
from pathlib import Path

_MESSAGES = Path(__file__).resolve().parents[2] / "extension" / "_locales" / "en" / "messages.json"


def _load() -> dict:
    messages = json.loads(_MESSAGES.read_text(encoding="utf-8"))
    levels = ("pending", "unknown", "notice", "interception", "browser-blocked", "banned")
    return {level: messages["badge_text_" + level.replace("-", "_")]["message"] for level in levels}


#: level -> badge text, e.g. ``BADGE["banned"]``.
BADGE = _load()
