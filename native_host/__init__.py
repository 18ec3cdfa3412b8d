"""RootSentinel native messaging host: certificate facts, blocklist, verdict engine, host protocol, CLI."""

__version__ = "0.1.0"

HOST_NAME = "io.rootsentinel.host"
"""The native messaging host name (host manifest ``name``); Chrome requires lowercase ``^\\w+(\\.\\w+)*$``."""

FIREFOX_EXTENSION_ID = "rootsentinel@rootsentinel.io"
"""The Firefox extension id (``browser_specific_settings.gecko.id``), listed in ``allowed_extensions``."""
