"""The one escaping rule for attacker-controlled text (certificate fields, URLs, host names, error text)
wherever RootSentinel shows it: the CLI's text output, its ``--json`` output and the audit log's lines.

A character is *unsafe* when its Unicode general category is one of

- ``Cc`` (C0 and C1 controls: ESC, CSI U+009B, NEL U+0085, CR, LF, ...),
- ``Cf`` (format characters: the bidi controls U+061C, U+200E/U+200F, U+202A-U+202E, U+2066-U+2069, zero
  width characters U+200B-U+200D, U+FEFF, tag characters, ...),
- ``Zl`` / ``Zp`` (U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR),
- ``Cs`` (a lone surrogate, which no UTF-8 output can carry),

or it is one of the bidi controls of Unicode UAX #9 section 2 (listed in :data:`BIDI_CONTROLS`; all of them
are ``Cf`` today, listed so that the rule does not depend on that). Categories: Unicode Standard, chapter 4.5
"General Category", as reported by Python's :mod:`unicodedata`.

- :func:`escape` (text output) writes each unsafe character as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``;
- :func:`dumps_json` (JSON output and audit lines) writes it as a JSON ``\\uNNNN`` escape (a UTF-16
  surrogate pair above U+FFFF), so the decoded value is unchanged while the bytes hold no unsafe
  character: a terminal never receives a control or bidi character, and every JSON document is one line by
  any line-splitting rule (``str.splitlines`` included).
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
"""General categories that are never shown raw."""

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""UAX #9 section 2 explicit directional formatting characters (ALM, LRM, RLM, LRE..RLO, LRI..PDI)."""

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def is_unsafe(ch: str) -> bool:
    """True when the single character ``ch`` must not reach a terminal or a log line raw (see module doc)."""
    if ch.isprintable():  # fast path: printable excludes every unsafe category
        return ch in BIDI_CONTROLS
    return unicodedata.category(ch) in UNSAFE_CATEGORIES or ch in BIDI_CONTROLS


def _text_escape(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _json_escape(ch: str) -> str:
    if ch == "\n":  # json.dumps writes a newline inside a string as \\n: a raw one is indentation
        return ch
    cp = ord(ch)
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    cp -= 0x10000
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def _sub(text: str, repl) -> str:
    if text.isascii() and text.isprintable():
        return text
    return "".join(repl(ch) if is_unsafe(ch) else ch for ch in text)


def escape(text: str | None) -> str:
    """Text for a terminal: every unsafe character (module doc) becomes ``\\xNN`` / ``\\uNNNN`` /
    ``\\UNNNNNNNN``; everything else is kept. ``None`` gives ``""``. The result holds no unsafe character
    and encodes to UTF-8 (lone surrogates are escaped)."""
    if not text:
        return ""
    return _sub(str(text), _text_escape)


def dumps_json(obj: Any, indent: int | None = None) -> str:
    """``json.dumps(obj, ensure_ascii=False)`` with every unsafe character written as a JSON escape.

    Returns:
        One JSON document; with ``indent=None`` one line. ``json.loads`` of it equals ``obj`` (string
        values are not changed, only how they are written).

    Raises:
        TypeError / ValueError: as :func:`json.dumps` (an object it cannot serialise).
    """
    text = _ENCODER.encode(obj) if indent is None else json.dumps(obj, ensure_ascii=False, indent=indent)
    return _sub(text, _json_escape)
