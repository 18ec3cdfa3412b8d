"""Typed errors whose ``code`` travels in the protocol's ``error`` frames (see docs/protocol.md).

The CLI maps every one of them to a one-line message and exit code 3.
"""

from __future__ import annotations


class RootSentinelError(Exception):
    """Base class. ``code`` is the stable protocol error code; ``str(err)`` is a one-line message."""

    code = "internal"


class FrameTooLarge(RootSentinelError):
    """A frame's declared length is over the host's cap (default 8 MiB)."""

    code = "too_large"


class BadFrame(RootSentinelError):
    """A frame is empty or truncated (its length prefix promises more than the stream holds)."""

    code = "bad_frame"


class TruncatedFrame(BadFrame):
    """The stream ended inside a frame: nothing more can follow, the host replies and exits 0."""


class BadUTF8(RootSentinelError):
    """A frame's payload is not valid UTF-8."""

    code = "bad_utf8"


class BadJSON(RootSentinelError):
    """A frame's payload is not valid JSON."""

    code = "bad_json"


class NotObject(RootSentinelError):
    """A frame's JSON is valid but not an object (an array, a number, ...)."""

    code = "not_object"


class SchemaError(RootSentinelError):
    """A message or config file does not match its JSON Schema."""

    code = "schema"


class BadBase64(RootSentinelError):
    """A certificate in ``chain`` is not valid base64."""

    code = "bad_base64"


class BadDER(RootSentinelError):
    """Bytes that are not a DER certificate (or not shaped like one)."""

    code = "bad_der"


class BadInput(RootSentinelError):
    """A CLI target or input file that cannot be read as a chain, SecurityInfo or address."""

    code = "bad_input"


class ProbeFailed(RootSentinelError):
    """The probe's own TLS handshake to host:port failed (refused, timeout, not TLS)."""

    code = "probe_failed"
