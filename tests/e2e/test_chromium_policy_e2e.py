"""A fresh Chromium with an administrator's policy in /etc/chromium/policies/managed, in a private mount
namespace (``unshare --mount``: a tmpfs over /etc/chromium that only this browser sees; the real machine is
never changed), issue 23 items 4 and 5.

Chromium fills ``storage.managed`` only once its policy service has loaded, a moment after the extension's
service worker starts. A page visited in that moment used to be judged with the defaults (warn, no policy):
a root the policy bans showed ``!`` and stayed so, and enforce mode did not block it. Now the Chromium build
waits (bounded) for the managed settings before judging, and forgets what it judged when they arrive.

Run: ``python -m pytest -m e2e tests/e2e/test_chromium_policy_e2e.py -v`` (root, ``unshare``, chromium).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import pki
from badges import BADGE
from browser import poll, settled, write_root
from chromium import EXTENSION_ID, Chromium
from servers import WebServer

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                 reason="needs root and unshare for a private mount namespace"),
              pytest.mark.skipif(not shutil.which("nsenter"), reason="needs nsenter")]

PAGE = "<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>"

# Runs the real browser in a private mount namespace whose /etc/chromium is a tmpfs holding a copy of the
# real folder plus policies/managed/rootsentinel.json. `unshare` without --fork execs in the same process,
# so the browser keeps the pid (and process group) the test started and stops.
WRAPPER = """#!/bin/sh
exec unshare --mount --propagation private -- sh -c '
  set -e
  keep=$(mktemp -d)
  cp -a /etc/chromium/. "$keep"/ 2>/dev/null || true
  mount -t tmpfs -o mode=755 rs-policy /etc/chromium
  cp -a "$keep"/. /etc/chromium/
  mkdir -p /etc/chromium/policies/managed
  cp "$RS_POLICY_FILE" /etc/chromium/policies/managed/rootsentinel.json
  chmod 644 /etc/chromium/policies/managed/rootsentinel.json
  exec "$RS_REAL_CHROMIUM" "$@"' sh "$@"
"""


class ManagedChromium(Chromium):
    """:class:`Chromium` started with ``policy`` as its only managed policy file."""

    def __init__(self, policy: dict, *, wait: bool = True, **kw):
        super().__init__(**kw)
        self.policy = policy
        self.real_binary = self.binary
        self.wait = wait

    def wait_ready(self, timeout: float = 30) -> None:
        """``wait=False``: return at once, so the test's first page loads while the browser is still starting
        (before its policy service has filled ``storage.managed``), as a person's first page does."""
        if self.wait:
            super().wait_ready(timeout)

    def _prepare(self) -> None:
        super()._prepare()
        policy_file = self.tmp / "policy.json"
        policy_file.write_text(json.dumps(self.policy))
        wrapper = self.tmp / "chromium-with-policy"
        wrapper.write_text(WRAPPER)
        wrapper.chmod(0o755)
        self.env.update(RS_POLICY_FILE=str(policy_file), RS_REAL_CHROMIUM=self.real_binary)
        self.binary = str(wrapper)

    def set_policy(self, policy: dict) -> None:
        """Replaces the policy file inside the browser's own mount namespace (``nsenter``); Chromium watches
        its policy folder and reloads it (ConfigDirPolicyLoader), as on a managed machine that gets a new policy."""
        subprocess.run(["nsenter", "-t", str(self.proc.pid), "-m", "--", "sh", "-c",
                        "cat > /etc/chromium/policies/managed/rootsentinel.json.new && "
                        "mv /etc/chromium/policies/managed/rootsentinel.json.new /etc/chromium/policies/managed/rootsentinel.json"],
                       input=json.dumps(policy), text=True, check=True, timeout=10)


def _serve(identity: pki.ServerIdentity, certdir: Path, stem: str) -> WebServer:
    chain, key = identity.write(certdir, stem)
    server = WebServer(chain, key)
    server.pages["/"] = ("text/html", PAGE.format(title="Intranet"))
    return server


def test_a_policy_banned_site_visited_first_thing_is_banned_and_blocked(certdir):
    """The first page of a fresh Chromium, right after the extension started: judged under the policy."""
    root = pki.private_root("Retired Proxy Root", org="Example Corp")
    server = _serve(pki.server_identity(root, chain_above=[root]), certdir, "retired")
    settings = {"mode": "enforce", "banned": [{"spki_sha256": pki.spki_sha256(root.cert), "reason": "retired proxy root"}]}
    policy = {"3rdparty": {"extensions": {EXTENSION_ID: settings}}}
    with server, ManagedChromium(policy, trust=[write_root(root, certdir, "retired")], wait=False) as cr:
        tab = cr.new_tab()
        cr.evaluate(f"chrome.tabs.update({tab}, {{url: {json.dumps(server.url('/'))}}}).then(() => true)")
        blocked = f"chrome-extension://{EXTENSION_ID}/blocked/blocked.html?tab={tab}"
        url = poll(lambda: cr.evaluate(f"chrome.tabs.get({tab}).then(t => t.url)"), lambda u: u == blocked, 30, 0.1)
        assert url == blocked
        assert cr.wait_badge(tab, settled)["text"] == BADGE["banned"]
        managed = cr.evaluate("chrome.storage.managed.get()")
        assert managed["mode"] == "enforce"
        # and the next visit too (the probe cache holds the verdict judged under the policy)
        tab2 = cr.new_tab()
        cr.evaluate(f"chrome.tabs.update({tab2}, {{url: {json.dumps(server.url('/'))}}}).then(() => true)")
        blocked2 = f"chrome-extension://{EXTENSION_ID}/blocked/blocked.html?tab={tab2}"
        assert poll(lambda: cr.evaluate(f"chrome.tabs.get({tab2}).then(t => t.url)"), lambda u: u == blocked2, 30, 0.1) == blocked2


def test_a_policy_that_arrives_later_reaches_the_open_tab_and_the_next_visit(certdir):
    """Issue 23 item 5: what was judged before the policy must not outlive it. The page is judged without a
    ban (``!``); then the administrator's policy bans its root in enforce mode: the open tab is judged again
    and blocked, and the next visit is not answered from the probe verdict judged before."""
    root = pki.private_root("Retired Proxy Root", org="Example Corp")
    server = _serve(pki.server_identity(root, chain_above=[root]), certdir, "retired")
    before = {"3rdparty": {"extensions": {EXTENSION_ID: {"mode": "warn"}}}}
    settings = {"mode": "enforce", "banned": [{"spki_sha256": pki.spki_sha256(root.cert), "reason": "retired proxy root"}]}
    with server, ManagedChromium(before, trust=[write_root(root, certdir, "retired")]) as cr:
        tab = cr.new_tab()
        cr.navigate(tab, server.url("/"))
        assert cr.wait_badge(tab, settled)["text"] == BADGE["interception"]
        cr.set_policy({"3rdparty": {"extensions": {EXTENSION_ID: settings}}})
        poll(lambda: cr.evaluate("chrome.storage.managed.get().then(m => m.mode)"), lambda m: m == "enforce", 60, 0.2)
        blocked = f"chrome-extension://{EXTENSION_ID}/blocked/blocked.html?tab={tab}"
        assert poll(lambda: cr.evaluate(f"chrome.tabs.get({tab}).then(t => t.url)"), lambda u: u == blocked, 30, 0.1) == blocked
        tab2 = cr.new_tab()
        cr.evaluate(f"chrome.tabs.update({tab2}, {{url: {json.dumps(server.url('/'))}}}).then(() => true)")
        blocked2 = f"chrome-extension://{EXTENSION_ID}/blocked/blocked.html?tab={tab2}"
        assert poll(lambda: cr.evaluate(f"chrome.tabs.get({tab2}).then(t => t.url)"), lambda u: u == blocked2, 30, 0.1) == blocked2
        assert cr.wait_badge(tab2, settled)["text"] == BADGE["banned"]


def test_probing_false_in_the_policy_makes_no_probe(certdir):
    """Issue 23 item 4: ``probing: false`` in the managed policy: the Chromium build asks for no probe and the
    page is unknown, said why; the host says probing is off in its hello reply."""
    root = pki.private_root("Corp Inspection Root", org="Example Corp")
    server = _serve(pki.server_identity(root, chain_above=[root]), certdir, "corp")
    policy = {"3rdparty": {"extensions": {EXTENSION_ID: {"probing": False}}}}
    with server, ManagedChromium(policy, trust=[write_root(root, certdir, "corp")]) as cr:
        poll(lambda: cr.evaluate("rootSentinel.sentinel.host.status().hello?.settings?.probing"),
             lambda v: v is False, 20, 0.1)
        tab = cr.new_tab()
        cr.navigate(tab, server.url("/"))
        badge = cr.wait_badge(tab, settled)
        assert badge["text"] == BADGE["unknown"]
        state = poll(lambda: cr.tab_state(tab), lambda st: bool(st and st["main"].get("reason")), 10, 0.1)
        assert state["main"]["reason"] == "probing_disabled"
        popup = cr.popup(tab)
        assert "probing" in popup["explanation"].lower()
