"""Host-manifest installation for every browser, OS and scope; ``doctor``; enterprise policies.

Public surface:
- :func:`install` / :func:`uninstall` / :func:`plan_install` (``installer``): write or remove the
  host manifests (and launcher, and Windows registry keys or ``.reg`` files).
- :func:`diagnose` (``doctor``): why a browser cannot reach the host, one check per line.
- ``policy``: ready Firefox ``policies.json`` and Chrome/Edge JSON policies, and the managed
  settings schema.
- ``cli.add_parsers(subparsers)``: the ``install``, ``uninstall``, ``doctor``, ``policy`` verbs.

Where each browser looks is decided per OS in ``locations/`` (one module per OS, chosen in one place).
"""

from native_host.install.installer import Change, Plan, apply_plan, install, plan_install, uninstall
from native_host.install.model import BROWSERS, Environment, HostLocation, InstallError

__all__ = [
    "BROWSERS",
    "Change",
    "Environment",
    "HostLocation",
    "InstallError",
    "Plan",
    "apply_plan",
    "install",
    "plan_install",
    "uninstall",
]
