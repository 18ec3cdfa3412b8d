"""Which document a verdict belongs to, in real headless Firefox ESR (issue 22 items 2, 3, 6, 10).

A banned page (the Superfish root, trusted in the profile) tries to make the badge say something
else about the page it still shows: a navigation whose response never commits (a 204, a download),
a service worker that fetches the page itself, a document without TLS of its own (blob:, a
window.open'ed about:blank it writes into). Each test reads the badge back from Firefox.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pki
from badges import BADGE
from browser import poll, settled, write_root
from firefox import Firefox
from servers import WebServer

pytestmark = pytest.mark.e2e

PAGE = "<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>{extra}"


def serve(identity: pki.ServerIdentity, certdir: Path, stem: str, **kw) -> WebServer:
    chain, key = identity.write(certdir, stem)
    return WebServer(chain, key, **kw)


@pytest.fixture
def superfish(certdir):
    """A server whose chain is leaf <- intermediate <- the real Superfish root (its leaked key)."""
    root = pki.leaked_root("superfish")
    inter = pki.intermediate(root, "Superfish Test Intermediate")
    server = serve(pki.server_identity(inter, chain_above=[inter]), certdir, "superfish")
    server.pages["/"] = ("text/html", PAGE.format(title="Webmail", extra="<p id=secret>inbox</p>"))
    return server, write_root(root, certdir, "superfish")


def page_script(ff: Firefox, script: str):
    """Runs ``script`` in the web page of the first tab (not in an extension page)."""
    res = ff.bidi.cmd("script.evaluate", {"expression": script, "target": {"context": ff.context},
                                          "awaitPromise": True, "resultOwnership": "none"})
    if res.get("type") == "exception":
        raise AssertionError(res["exceptionDetails"].get("text"))
    return res["result"].get("value")


def stays(ff: Firefox, tab: int, text: str, timeout: float = 3.0) -> dict:
    """Watches the badge for ``timeout`` seconds after an event that must not change it; returns
    the first badge that differs from ``text``, else the last one."""
    return poll(lambda: ff.badge(tab), lambda b: b["text"] != text, timeout)


@pytest.mark.parametrize("response", ["204", "download"])
def test_a_response_that_never_commits_does_not_reset_the_badge(superfish, response):
    """Issue 22 item 2: the banned page sends its tab to another origin's 204 or to a download; the
    banned page stays on screen, so its badge stays `!!`."""
    server, sf_root = superfish
    clean = WebServer()  # plain http: its own verdict would be `?`
    clean.pages["/nothing"] = ("text/plain", "", {"Status": 204})
    clean.pages["/file.bin"] = ("application/octet-stream", b"\0" * 64,
                                {"Content-Disposition": 'attachment; filename="file.bin"'})
    path = "/nothing" if response == "204" else "/file.bin"
    prefs = {"browser.download.folderList": 2, "browser.download.useDownloadDir": True,
             "browser.download.always_ask_before_handling_new_types": False}
    with server, clean, Firefox(trust=[sf_root], prefs=prefs) as ff:
        ff.navigate(server.url("/"))
        tab = ff.tab_id(server.url("/"))
        assert ff.wait_badge(tab, settled)["text"] == BADGE["banned"]
        page_script(ff, f"location.href = {json.dumps(clean.url(path))}; true")
        poll(lambda: list(clean.hits), lambda hits: path in hits, 15)
        assert path in clean.hits
        assert page_script(ff, "document.getElementById('secret') !== null") is True, "the banned page stays"
        badge = stays(ff, tab, BADGE["banned"])
        assert badge["text"] == BADGE["banned"], badge
        assert "Superfish" in badge["title"]


SERVICE_WORKER = ("self.addEventListener('install', (e) => self.skipWaiting());\n"
                  "self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));\n"
                  "self.addEventListener('fetch', (e) => e.respondWith(fetch(e.request)));\n")


def test_a_page_a_service_worker_fetched_is_judged_not_remembered(certdir):
    """Issue 22 item 3: a site first seen under the organisation's approved root (`i`) registers a
    pass-through service worker; the network then intercepts it with the Superfish root. The next
    visit is fetched by the worker (Firefox: tabId -1, no main-frame response for the tab), so the
    page must show the worker's verdict (`!!`), never the `i` the tab saw for that URL before."""
    corp = pki.private_root("Example Corp Proxy Root", org="Example Corp")
    sf = pki.leaked_root("superfish")
    inter = pki.intermediate(sf, "Superfish Test Intermediate")
    later = pki.server_identity(inter, chain_above=[inter]).write(certdir, "sf")
    site = serve(pki.server_identity(corp), certdir, "corp")
    site.pages["/"] = ("text/html", PAGE.format(title="Mail", extra="<script>navigator.serviceWorker.register('/sw.js')</script>"))
    site.pages["/sw.js"] = ("text/javascript", SERVICE_WORKER)
    other = WebServer()
    other.pages["/"] = ("text/html", PAGE.format(title="Other", extra=""))
    managed = {"allow_spki_sha256": [pki.spki_sha256(corp.cert)]}
    with site, other, Firefox(trust=[write_root(corp, certdir, "corp"), write_root(sf, certdir, "sf")], managed=managed) as ff:
        ff.navigate(site.url("/"))
        tab = ff.tab_id(site.url("/"))
        assert ff.wait_badge(tab, settled)["text"] == BADGE["notice"]
        assert page_script(ff, "navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller"
                               " ? true : new Promise((r) => navigator.serviceWorker.oncontrollerchange = () => r(true)))") is True
        ff.navigate(other.url("/"))
        assert ff.wait_badge(tab, settled)["text"] == BADGE["unknown"]
        site.present(*later)  # the network intercepts from now on
        ff.navigate(site.url("/"))
        assert page_script(ff, "navigator.serviceWorker.controller !== null") is True, "the worker served the page"
        badge = ff.wait_badge(tab, lambda b: b["text"] == BADGE["banned"])
        assert badge["text"] == BADGE["banned"], badge
        assert "Superfish" in badge["title"]


def test_a_banned_page_in_a_blob_or_an_opened_blank_tab_keeps_its_verdict(superfish):
    """Issue 22 item 10: a banned page navigates itself to a blob: URL of its own origin, and writes
    into a window.open('about:blank') tab; neither document has TLS of its own, so both inherit the
    banned verdict instead of an empty badge (which reads as "not intercepted")."""
    server, sf_root = superfish
    with server, Firefox(trust=[sf_root]) as ff:
        ff.navigate(server.url("/"))
        tab = ff.tab_id(server.url("/"))
        assert ff.wait_badge(tab, settled)["text"] == BADGE["banned"]
        res = ff.bidi.cmd("script.evaluate", {
            "expression": "(() => { const w = window.open('about:blank'); w.document.write('<h1>Webmail</h1><p>inbox</p>');"
                          " w.document.close(); return true; })()",
            "target": {"context": ff.context}, "awaitPromise": False, "userActivation": True})
        assert res["result"]["value"] is True, res
        ff.open_extension_page("popup/popup.html?tab=0")
        opened = poll(lambda: json.loads(ff.evaluate(
            f"browser.tabs.query({{}}).then(ts => JSON.stringify(ts.filter(t => t.openerTabId === {tab}).map(t => [t.id, t.url])))")),
            lambda ts: len(ts) > 0, 10)
        assert opened and opened[0][1] == "about:blank", opened
        badge = ff.wait_badge(opened[0][0], lambda b: b["text"] == BADGE["banned"], 10)
        assert badge["text"] == BADGE["banned"], badge

        page_script(ff, "location.href = URL.createObjectURL(new Blob(['<h1>Webmail</h1>'], {type: 'text/html'})); true")
        poll(ff.current_url, lambda u: u.startswith("blob:"), 10)
        assert ff.current_url().startswith(f"blob:https://localhost:{server.port}/")
        badge = ff.wait_badge(tab, lambda b: b["text"] == BADGE["banned"], 10)
        assert badge["text"] == BADGE["banned"], badge
        assert "Superfish" in badge["title"]


def test_enforce_mode_holds_frames_and_subresources_of_a_banned_origin(superfish):
    """Issue 22 item 6: in enforce mode a page the browser accepts (plain http: not judged) embeds
    a frame and two scripts from an origin under the Superfish root. The frame's document is held like
    a main frame and cancelled, the first script waits for its origin's verdict and is cancelled,
    and the later one (its origin already judged banned) is cancelled at once: none of them renders
    or runs, the page itself stays, and its badge says banned."""
    server, sf_root = superfish
    server.pages["/frame.html"] = ("text/html", "<script>parent.postMessage('frame ran', '*')</script><h1>framed</h1>")
    server.pages["/evil.js"] = ("text/javascript", "window.evilRan = (window.evilRan || 0) + 1;")
    page = WebServer()
    page.pages["/"] = ("text/html", PAGE.format(title="News", extra=(
        "<script>window.messages = []; addEventListener('message', (e) => messages.push(String(e.data)));</script>"
        f"<iframe src='{server.url('/frame.html')}'></iframe>"
        f"<script src='{server.url('/evil.js')}'></script>"
        "<script>window.later = () => new Promise((r) => { const s = document.createElement('script');"
        f" s.src = {json.dumps(server.url('/evil.js?again'))}; s.onload = () => r('loaded'); s.onerror = () => r('blocked');"
        " document.head.append(s); });</script>")))
    with server, page, Firefox(trust=[sf_root], managed={"mode": "enforce"}) as ff:
        ff.navigate(page.url("/"))
        tab = ff.tab_id(page.url("/"))
        badge = ff.wait_badge(tab, lambda b: b["text"] == BADGE["banned"])
        assert badge["text"] == BADGE["banned"], badge
        assert "Superfish" in badge["title"]
        assert ff.current_url() == page.url("/"), "the page itself is not replaced"
        assert page_script(ff, "later()") == "blocked"
        assert "/evil.js" in server.hits and "/frame.html" in server.hits, server.hits
        assert page_script(ff, "String(window.evilRan)") == "undefined", "no script of the banned origin ran"
        assert page_script(ff, "JSON.stringify(messages)") == "[]", "the banned frame did not run"
