"""Which chain a Chromium verdict belongs to, in real headless Chromium (issue 22 items 2, 3 and 7).

Chromium gives the extension no chain of its own (docs/reference/browser-apis.md 2.1): with its
`WebRequestSecurityInfo` feature it gives the page's leaf, and the helper probes the origin for the
rest. Each test reads the badge back from Chromium.
"""

from __future__ import annotations

import json
import time

import pytest

import pki
from badges import BADGE
from browser import poll, settled, write_root
from chromium import CDPError, Chromium
from servers import WebServer

pytestmark = pytest.mark.e2e

PAGE = "<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>{extra}"
SECURITY_INFO = ["--enable-features=WebRequestSecurityInfo"]


def test_an_issuer_named_like_the_sites_with_another_key_is_interception(certdir):
    """Issue 22 item 7: the browser is shown a leaf from "Example Issuing CA" under an interceptor's
    root; the helper's probe is shown the site's real chain, whose intermediate has the same name
    under the organisation's approved root (notice, `i`). Matched by name the page would get the
    probe's `i`; matched by key (the leaf's authority key id is not the probe intermediate's subject
    key id) it is interception (`!`)."""
    corp_root = pki.private_root("Example Corp Proxy Root", org="Example Corp")
    real_inter = pki.intermediate(corp_root, "Example Issuing CA")
    evil_root = pki.private_root("Imitator Root")
    fake_inter = pki.intermediate(evil_root, "Example Issuing CA")
    assert fake_inter.cert.subject == real_inter.cert.subject
    browser_chain = pki.server_identity(fake_inter, chain_above=[fake_inter]).write(certdir, "fake")
    probe_chain = pki.server_identity(real_inter, chain_above=[real_inter]).write(certdir, "real")
    server = WebServer(*browser_chain, then_present=probe_chain)
    server.pages["/"] = ("text/html", PAGE.format(title="Mail", extra=""))
    trust = [write_root(corp_root, certdir, "corp"), write_root(evil_root, certdir, "evil")]
    config = {"allow_spki_sha256": [pki.spki_sha256(corp_root.cert)]}
    with server, Chromium(trust=trust, host_config=config, extra_flags=SECURITY_INFO) as cr:
        tab = cr.new_tab()
        cr.navigate(tab, server.url("/"))
        badge = cr.wait_badge(tab, settled)
        assert badge["text"] == BADGE["interception"], badge
        main = cr.tab_state(tab)["main"]
        verdict = main["verdict"]
        assert verdict["issuer_match"] == "imitation" and verdict["reason"] == "imitated_issuer"
        assert verdict["leaf_matches_probe"] is False


def page_eval(cr: Chromium, url_prefix: str, expression: str):
    """Evaluates ``expression`` in the web page whose URL starts with ``url_prefix`` (over CDP)."""
    targets = cr.cdp.cmd("Target.getTargets", {})["targetInfos"]
    target = next(t for t in targets if t["type"] == "page" and t["url"].startswith(url_prefix))
    session = cr.cdp.cmd("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
    return cr.evaluate(expression, session=session, user_gesture=True)


def banned_site(certdir) -> tuple[WebServer, list, dict]:
    """A site under a root the organisation banned (host config ``banned``; the server sends its root)."""
    root = pki.private_root("Retired Proxy Root", org="Example Corp")
    inter = pki.intermediate(root, "Retired Proxy Issuing CA")
    chain, key = pki.server_identity(inter, chain_above=[inter, root]).write(certdir, "retired")
    server = WebServer(chain, key)
    server.pages["/"] = ("text/html", PAGE.format(title="Intranet", extra="<p id=secret>payroll</p>"))
    config = {"banned": [{"spki_sha256": pki.spki_sha256(root.cert), "reason": "retired proxy root"}]}
    return server, [write_root(root, certdir, "retired")], config


@pytest.mark.parametrize("response", ["204", "download", "prerender"])
def test_a_response_that_never_commits_does_not_reset_the_badge(certdir, response):
    """Issue 22 item 2 in Chromium: the banned page sends its tab to a clean origin's 204, to a
    download, or has Chromium prerender a clean page (speculation rules) without going there. The
    banned page stays on screen, so its badge stays `!!`."""
    server, trust, config = banned_site(certdir)
    clean = WebServer()  # plain http: its own verdict would be `?`
    clean.pages["/nothing"] = ("text/plain", "", {"Status": 204})
    clean.pages["/file.bin"] = ("application/octet-stream", b"\0" * 64, {"Content-Disposition": 'attachment; filename="f.bin"'})
    clean.pages["/next"] = ("text/html", PAGE.format(title="Next", extra=""))
    path = {"204": "/nothing", "download": "/file.bin", "prerender": "/next"}[response]
    with server, clean, Chromium(trust=trust, host_config=config) as cr:
        tab = cr.new_tab()
        cr.navigate(tab, server.url("/"))
        assert cr.wait_badge(tab, settled)["text"] == BADGE["banned"]
        target = clean.url(path)
        if response == "prerender":
            rules = json.dumps({"prerender": [{"source": "list", "urls": [target]}]})
            page_eval(cr, server.url("/"), "(() => { const s = document.createElement('script'); s.type = 'speculationrules';"
                                           f" s.textContent = {json.dumps(rules)}; document.head.append(s); return true; }})()")
        else:
            page_eval(cr, server.url("/"), f"(() => {{ location.href = {json.dumps(target)}; return true; }})()")
        poll(lambda: list(clean.hits), lambda hits: path in hits, 15)
        assert path in clean.hits, f"{response}: the browser never asked for {path}"
        time.sleep(0.5)
        assert page_eval(cr, server.url("/"), "document.getElementById('secret') !== null") is True, "the banned page stays"
        badge = poll(lambda: cr.badge(tab), lambda b: b["text"] != BADGE["banned"], 3)
        assert badge["text"] == BADGE["banned"], (badge, json.dumps(cr.tab_state(tab))[:700], cr.evaluate(f"chrome.tabs.get({tab}).then(t => t.url)"))


SERVICE_WORKER = ("self.addEventListener('install', (e) => self.skipWaiting());\n"
                  "self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));\n"
                  "self.addEventListener('fetch', (e) => e.respondWith(fetch(e.request)));\n")


def test_a_page_a_service_worker_fetched_is_judged_not_remembered(certdir):
    """Issue 22 item 3 in Chromium: a site first seen under the organisation's approved root (`i`)
    registers a pass-through service worker; the network then presents a chain under a root the
    organisation banned. The next visit is fetched by the worker (tabId -1 in webRequest), so the tab
    has no main-frame response of its own: the page is judged by the probe of its origin (`!!`), never
    shown the `i` seen before for that URL (on main: `?`, no evidence)."""
    corp = pki.private_root("Example Corp Proxy Root", org="Example Corp")
    retired = pki.private_root("Retired Proxy Root", org="Example Corp")
    later = pki.server_identity(retired, chain_above=[retired]).write(certdir, "retired")
    chain, key = pki.server_identity(corp, chain_above=[corp]).write(certdir, "corp")
    site = WebServer(chain, key)
    site.pages["/"] = ("text/html", PAGE.format(title="Mail", extra="<script>navigator.serviceWorker.register('/sw.js')</script>"))
    site.pages["/sw.js"] = ("text/javascript", SERVICE_WORKER)
    other = WebServer()
    other.pages["/"] = ("text/html", PAGE.format(title="Other", extra=""))
    config = {"allow_spki_sha256": [pki.spki_sha256(corp.cert)],
              "banned": [{"spki_sha256": pki.spki_sha256(retired.cert), "reason": "retired proxy root"}]}
    trust = [write_root(corp, certdir, "corp"), write_root(retired, certdir, "retired")]
    with site, other, Chromium(trust=trust, host_config=config) as cr:
        tab = cr.new_tab()
        cr.navigate(tab, site.url("/"))
        assert cr.wait_badge(tab, settled)["text"] == BADGE["notice"]
        ready = ("navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller ? true"
                 " : new Promise((r) => navigator.serviceWorker.oncontrollerchange = () => r(true)))")
        assert page_eval(cr, site.url("/"), ready) is True
        cr.navigate(tab, other.url("/"))
        assert cr.wait_badge(tab, settled)["text"] == BADGE["unknown"]
        site.present(*later)  # the network intercepts from now on
        cr.navigate(tab, site.url("/"))
        assert page_eval(cr, site.url("/"), "navigator.serviceWorker.controller !== null") is True, "the worker served the page"
        # judged by the probe of the page's origin, which the network now intercepts with the banned root
        badge = cr.wait_badge(tab, lambda b: b["text"] == BADGE["banned"])
        assert badge["text"] == BADGE["banned"], (badge, json.dumps(cr.tab_state(tab))[:700])
        main = cr.tab_state(tab)["main"]
        assert (main["source"], main["verdict"]["reason"]) == ("probe", "policy_banned")
