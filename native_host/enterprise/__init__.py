"""Enterprise: what a fleet administrator configures and collects.

- :mod:`~native_host.enterprise.config`: the system config (allow-lists, bans, mode, audit destinations);
- :mod:`~native_host.enterprise.audit`: audit events in Elastic Common Schema (built by
  :mod:`~native_host.enterprise.ecs`, one per fact per window by :mod:`~native_host.enterprise.ratewindow`,
  written by :mod:`~native_host.enterprise.sinks`);
- :mod:`~native_host.enterprise.blocklist_build`, :mod:`~native_host.enterprise.blocklist_update`,
  :mod:`~native_host.enterprise.blocklist_cli`: signed blocklist updates (build, verify, install).
"""
