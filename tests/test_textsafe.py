"""The one escaping rule (native_host/textsafe.py), over arbitrary strings: no control, format, line or
paragraph separator, bidi character or lone surrogate survives, and JSON values are unchanged."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from native_host.textsafe import BIDI_CONTROLS, UNSAFE_CATEGORIES, dumps_json, escape, is_unsafe

ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=80)
"""Every code point, lone surrogates included (what ``json.loads`` can hand us from a ``\\ud800`` escape)."""
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | ANY_TEXT,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
                           max_leaves=20)
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits on


def _bad(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in UNSAFE_CATEGORIES or c in BIDI_CONTROLS]


@settings(max_examples=500)
@given(ANY_TEXT)
def test_escape_leaves_no_unsafe_character(text):
    out = escape(text)
    assert _bad(out) == []
    out.encode("utf-8")  # never a UnicodeEncodeError on a terminal
    if not _bad(text):
        assert out == text  # safe text is shown as it is


@settings(max_examples=500)
@given(JSON_VALUES)
def test_dumps_json_is_one_safe_line_and_round_trips(value):
    out = dumps_json({"v": value})
    assert _bad(out) == [] and not any(c in out for c in LINE_BREAKS)
    assert len(out.splitlines()) == 1
    assert json.loads(out) == {"v": value}
    out.encode("utf-8")


@settings(max_examples=200)
@given(JSON_VALUES)
def test_indented_json_has_only_indentation_newlines(value):
    out = dumps_json({"v": value}, indent=1)
    assert [c for c in _bad(out) if c != "\n"] == []
    assert json.loads(out) == {"v": value}


def test_the_reported_characters_are_unsafe():
    for ch in "\u200f\u061c\u2028\u2029\u200b\ufeff\u009b\u0085\u202e\x1b\x00\x7f\ud800\U000e0001":
        assert is_unsafe(ch), f"U+{ord(ch):04X}"
    for ch in "aЖ中 \u00a0é😀\\":
        assert not is_unsafe(ch)
    assert escape("a\u202eb\x1bc\U000e0001") == "a\\u202eb\\x1bc\\U000e0001"
