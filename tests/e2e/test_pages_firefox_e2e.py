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
        prefs_dir = ff.tmp / "downloads"
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
        del prefs_dir
