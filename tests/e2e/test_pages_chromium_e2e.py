"""Which chain a Chromium verdict belongs to, in real headless Chromium (issue 22 items 2 and 7).

Chromium gives the extension no chain of its own (docs/reference/browser-apis.md 2.1): with its
`WebRequestSecurityInfo` feature it gives the page's leaf, and the helper probes the origin for the
rest. Each test reads the badge back from Chromium.
"""

from __future__ import annotations

import pytest

import pki
from badges import BADGE
from browser import poll, settled, write_root
from chromium import Chromium
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
