"""Native messaging framing: a 32-bit unsigned length in native byte order, then UTF-8 JSON.

Sources: MDN "Native messaging" (App side), Chrome "Native messaging" ("Native messaging protocol").
Host -> browser frames must stay under 1 MiB: Firefox ``NativeMessaging.sys.mjs`` ``MAX_READ`` and
Chromium ``kMaximumNativeMessageSize`` drop the port above 1,048,576 bytes (field report A.2).
"""

from __future__ import annotations

import json
import os
import re
import struct
from typing import Any, BinaryIO

from native_host.errors import BadFrame, BadJSON, BadUTF8, FrameTooLarge, NotObject, TruncatedFrame

HEADER = struct.Struct("=I")
"""Native byte order, standard 4-byte size (``@I`` would too on every platform we ship)."""

MAX_REPLY_BYTES = 1024 * 1024
"""Browsers' limit for one host -> browser frame (payload bytes)."""

DEFAULT_MAX_FRAME = 8 * 1024 * 1024
"""The host's default cap on one browser -> host frame."""

_SKIP_CHUNK = 1 << 20

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""What ``json.dumps(message, ensure_ascii=False, separators=(",", ":"))`` builds on every call, built once
(10 µs of a 2 KB verdict; ``encode`` keeps no state between calls, so threads may share it)."""


class FrameReader:
    """Reads frames from a binary stream (the host's stdin).

    ``read()`` returns the payload bytes of the next frame, or None at a clean end of stream.
    """

    def __init__(self, stream: BinaryIO, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.stream = stream
        self.max_frame = max_frame
        self.pending_skip = 0

    def _read_exact(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = self.stream.read(n - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def read(self) -> bytes | None:
        """Read the next frame's payload.

        Returns:
            The payload, or None when the stream ends cleanly between frames.

        Raises:
            BadFrame: a zero-length frame (the stream stays in sync).
            TruncatedFrame: a header or payload cut short by the end of the stream (reply, then stop).
            FrameTooLarge: the declared length is over ``max_frame``. The payload is not read yet: call
                :meth:`skip_pending` after replying, to resynchronise on the next frame.
        """
        header = self._read_exact(HEADER.size)
        if not header:
            return None
        if len(header) < HEADER.size:
            raise TruncatedFrame(f"stream ended inside a length prefix ({len(header)} of 4 bytes)")
        (length,) = HEADER.unpack(header)
        if length == 0:
            raise BadFrame("empty frame (length prefix 0)")
        if length > self.max_frame:
            self.pending_skip = length
            raise FrameTooLarge(f"frame of {length} bytes is over the {self.max_frame}-byte cap; skipped")
        payload = self._read_exact(length)
        if len(payload) < length:
            raise TruncatedFrame(f"truncated frame: the stream ended after {len(payload)} of {length} bytes")
        return payload

    def skip_pending(self) -> bool:
        """Discard the payload of an oversized frame, in 1 MiB chunks, without storing it.

        Returns:
            False when the stream ended before the whole payload was discarded.
        """
        remaining, self.pending_skip = self.pending_skip, 0
        while remaining:
            chunk = self.stream.read(min(remaining, _SKIP_CHUNK))
            if not chunk:
                return False
            remaining -= len(chunk)
        return True


def decode_message(payload: bytes) -> dict[str, Any]:
    """Decode one frame's payload into a JSON object.

    Raises:
        BadUTF8, BadJSON, NotObject: with a one-line message.
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadUTF8(f"payload is not UTF-8 (byte {exc.start})") from exc
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadJSON(f"payload is not JSON: {exc.msg} at char {exc.pos}") from exc
    except ValueError as exc:  # e.g. an integer over Python's 4,300-digit limit (no .msg, no .pos)
        raise BadJSON(f"payload is not usable JSON: {' '.join(str(exc).split())[:200]}") from exc
    except RecursionError as exc:
        raise BadJSON("payload is not usable JSON: arrays or objects nested too deep") from exc
    if not isinstance(obj, dict):
        raise NotObject(f"a message must be a JSON object, not {type(obj).__name__}")
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(obj)
    return obj


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON ``\\uD800``..``\\uDFFF`` escape: only then can a decoded string hold a lone surrogate (the payload
itself is strict UTF-8, which cannot encode one)."""


def _refuse_lone_surrogates(obj: dict[str, Any]) -> None:
    """Raise :class:`BadJSON` when a string (key or value) of ``obj`` holds a lone UTF-16 surrogate.

    RFC 8259 section 8.2 leaves such strings' behaviour unpredictable; they cannot be written back as UTF-8,
    so a reply echoing one (an id, a URL) could not be sent. The error keeps the message's ``id`` when the
    id itself is clean (``exc.msg_id``).
    """
    try:
        _ENCODER.encode(obj).encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return
    msg_id = obj.get("id")
    try:
        _ENCODER.encode(msg_id).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        msg_id = None
    exc = BadJSON("payload is not usable JSON: a string holds a lone UTF-16 surrogate escape (\\ud800-\\udfff)")
    exc.msg_id = msg_id  # type: ignore[attr-defined]
    raise exc


def encode_frame(message: dict[str, Any]) -> bytes:
    """Encode one message as a frame (length prefix + compact UTF-8 JSON).

    Raises:
        ValueError: the encoded payload is over :data:`MAX_REPLY_BYTES` (callers shrink first).
    """
    try:
        payload = _ENCODER.encode(message).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate that got past decode_message: a "?" in its place beats a dead host
        payload = _ENCODER.encode(message).encode("utf-8", "replace")
    if len(payload) > MAX_REPLY_BYTES:
        raise ValueError(f"reply of {len(payload)} bytes is over the browsers' 1 MiB limit")
    return HEADER.pack(len(payload)) + payload


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a file descriptor (``os.write`` may write less than asked on a pipe)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
