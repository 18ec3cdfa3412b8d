"""The host manifest: the JSON a browser reads to find and admit the native messaging host.

Shape (one per browser, the two dialects differ only in the last key)::

    {"name": "io.rootsentinel.host",
     "description": "RootSentinel: ...",
     "path": "/absolute/path/to/rootsentinel-host",
     "type": "stdio",
     "allowed_extensions": ["rootsentinel@rootsentinel.io"]}            # Firefox
     "allowed_origins": ["chrome-extension://<32 letters a-p>/", ...]}  # Chromium family

Sources: MDN "Native manifests" (https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/Native_manifests);
Chrome "Native messaging" (https://developer.chrome.com/docs/extensions/develop/concepts/native-messaging):
name ``^\\w+(\\.\\w+)*$`` lowercase, ``path`` absolute on Linux/macOS, ``allowed_origins`` without wildcards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from native_host import HOST_NAME
from native_host.install.extension_ids import chromium_origin
from native_host.install.model import family

DESCRIPTION = "RootSentinel: tells you whether your HTTPS connection is intercepted"


@dataclass(frozen=True)
class HostManifest:
    """One browser's host manifest.

    Attributes:
        browser: ``firefox``, ``chrome``, ``chromium``, ``edge`` or ``brave``.
        path: absolute path of the executable the browser starts (as the target OS spells it).
        extension_ids: Gecko ids (Firefox) or 32-letter ids (Chromium family) allowed to connect.
    """

    browser: str
    path: str
    extension_ids: tuple[str, ...]

    def to_json(self) -> dict:
        """The manifest as a JSON object, keys in the documented order.

        Raises:
            ValueError: if a Chromium-family id is malformed.
        """
        doc: dict = {"name": HOST_NAME, "description": DESCRIPTION, "path": self.path, "type": "stdio"}
        if family(self.browser) == "firefox":
            doc["allowed_extensions"] = list(self.extension_ids)
        else:
            doc["allowed_origins"] = [chromium_origin(i) for i in self.extension_ids]
        return doc

    def render(self) -> bytes:
        """UTF-8 JSON, two-space indent, trailing newline: the exact bytes written (stable for idempotence)."""
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
