"""The line type of ``rootsentinel doctor`` (:class:`Check`) and the hello outcome (:class:`HelloResult`)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_REPLY = 1024 * 1024
"""Browsers drop a host->browser frame above 1 MiB (field report A2); larger means garbage on stdout."""


@dataclass(frozen=True)
class Check:
    """One diagnostic line.

    Attributes:
        ok: True (passed), False (failed: the browser cannot use the host), None (skipped/info).
        browser: which browser the check is about.
        message: what was found, one line.
        fix: what to do about a failure, one line ('' when ok).
        kind: the finding class: ``host``, ``config``, ``audit`` or ``extension`` (exit codes:
            :data:`native_host.install.doctor.fleet.EXIT_CODES`).
    """

    ok: bool | None
    browser: str
    message: str
    fix: str = ""
    kind: str = "host"

    def as_json(self) -> dict:
        """``{"ok", "class", "subject", "message", "fix"}`` for ``doctor --json``."""
        return {"ok": self.ok, "class": self.kind, "subject": self.browser, "message": self.message, "fix": self.fix}

    def line(self) -> str:
        """``✓ firefox: ...``, ``✗ chrome: ... — fix: ...`` or ``- edge: ...``."""
        mark = {True: "✓", False: "✗", None: "-"}[self.ok]
        text = f"{mark} {self.browser}: {self.message}"
        if self.ok is False and self.fix:
            text += f" — fix: {self.fix}"
        return text


@dataclass(frozen=True)
class HelloResult:
    """Outcome of one hello round trip with a host process.

    ``reply`` is the decoded JSON reply (or None); ``error`` a one-line reason when it failed.
    """

    ok: bool
    reply: dict | None
    error: str | None
    elapsed_ms: float
    stderr_tail: str = ""


