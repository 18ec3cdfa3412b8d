"""Issue 24 in real headless Firefox ESR with the real host, in English, Russian and Kazakh: what a person sees
on a certificate the browser refused (item 1), on a private root registered in Kazakhstan (item 2), and
after "I know this root" (item 5); the popup fits a real popup (item 4), the toolbar icon follows the level
(item 6) and the guide opens in the person's language for the verdict (item 7).

``ROOTSENTINEL_UPDATE_SCREENSHOT=1`` rewrites docs/screenshots/{refused,kz,acknowledged,icons}-<lang>.png.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import pki
from badges import BADGE
from browser import REPO, poll, settled, write_root
from firefox import Firefox, badge_and_popup_screenshot, pin_action
from locales import catalogue, msg
from person import icon_strip, kz_root, probe_installed_in, self_signed_identity, toolbar_icon_fill
from servers import WebServer

pytestmark = pytest.mark.e2e

POPUP_MAX = 600
"""The tallest a popup is in Firefox and Chromium (both cap it at 600 px and scroll the rest)."""

PAGE = "<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>"
SHOTS = REPO / "docs" / "screenshots"


def serve(identity: pki.ServerIdentity, certdir, stem: str, title: str) -> WebServer:
    chain, key = identity.write(certdir, stem)
    server = WebServer(chain, key)
    server.pages["/"] = ("text/html", PAGE.format(title=title))
    return server


def shoot(ff: Firefox, tab: int, name: str) -> None:
    shot = badge_and_popup_screenshot(ff, tab)
    assert shot.startswith(b"\x89PNG\r\n\x1a\n") and len(shot) > 10_000
    if os.environ.get("ROOTSENTINEL_UPDATE_SCREENSHOT") == "1":
        SHOTS.mkdir(exist_ok=True)
        (SHOTS / name).write_bytes(shot)


def no_key_names(text: str) -> None:
    assert "$" not in text and not any(k in text for k in ("kind_", "explain_", "advice_", "ack_", "category_")), text


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_refused_kz_and_acknowledged_roots_as_a_person_sees_them(certdir, tmp_path, monkeypatch, lang):
    audit = tmp_path / "audit.jsonl"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"audit": True, "audit_log": str(audit), "audit_window_seconds": 0}))
    monkeypatch.setenv("ROOTSENTINEL_CONFIG", str(config))  # the host inherits Firefox's environment
    device = serve(self_signed_identity(), certdir, f"device-{lang}", "Router")
    kz = kz_root()
    kz_server = serve(pki.server_identity(kz, chain_above=[kz]), certdir, f"kz-{lang}", "Bank")
    mkcert = pki.private_root("mkcert alice@laptop", org="mkcert development CA")
    dev_server = serve(pki.server_identity(mkcert), certdir, f"dev-{lang}", "Dev")
    trust = [write_root(kz, certdir, f"kz-{lang}"), write_root(mkcert, certdir, f"mkcert-{lang}")]
    with device, kz_server, dev_server, Firefox(trust=trust, locale=None if lang == "en" else lang) as ff:
        pin_action(ff)

        # --- item 1: a plain self-signed device the browser refused: the browser protected you -----------------
        ff.navigate(device.url("/"))
        tab = ff.tab_id(device.url("/"))
        installed = probe_installed_in(ff, tab)
        assert installed in ([], None), installed  # nothing installs this certificate anywhere here
        badge = ff.wait_badge(tab, lambda b: msg(lang, "kind_refused") in (b["title"] or ""))
        assert badge["text"] == BADGE["browser-blocked"]
        assert toolbar_icon_fill(ff) == "refused"
        story = "explain_blocked_refused_nowhere" if installed == [] else "explain_blocked_refused"
        assert badge["title"].split("\n") == [msg(lang, "badge_title_browser_blocked"), msg(lang, "kind_refused"),
                                             msg(lang, story, "localhost", "localhost")]
        popup = ff.popup(tab)
        assert (popup["verdictLevel"], popup["kind"]) == ("browser-blocked", msg(lang, "kind_refused"))
        assert popup["explanation"] == msg(lang, story, "localhost", "localhost")
        assert popup["advice"]["kind"] == "refused"
        assert popup["advice"]["steps"] == [msg(lang, "advice_step_refused_no_click"), msg(lang, "advice_step_refused_own_device"),
                                            msg(lang, "advice_step_refused_network")]
        # never "remove the root from Firefox" for a root that is not there; never "intercepted ... None."
        assert "Firefox" not in " ".join(popup["advice"]["steps"])
        assert msg(lang, "level_interception") not in popup["bodyText"] and msg(lang, "popup_origins_heading") not in popup["bodyText"]
        assert popup["acknowledge"]["hidden"] is True
        assert popup["advice"]["guide"] == f"{ff.base}help/{lang}/refused.html"
        assert popup["height"] <= POPUP_MAX, popup["height"]
        no_key_names(popup["bodyText"])
        shoot(ff, tab, f"refused-{lang}.png")
        ff.open_extension_page(f"help/{lang}/refused.html")
        guide = json.loads(ff.evaluate("JSON.stringify([document.title, document.documentElement.lang])"))
        page = (REPO / "extension" / "help" / lang / "refused.html").read_text(encoding="utf-8")
        assert guide == [page.split("<h1>", 1)[1].split("</h1>", 1)[0], lang]

        # --- item 2: a C=KZ private root trusted in the profile: one kind, one story ---------------------------
        ff.navigate(kz_server.url("/"))
        tab = ff.tab_id(kz_server.url("/"))
        badge = ff.wait_badge(tab, settled)
        assert badge["text"] == BADGE["interception"]
        assert toolbar_icon_fill(ff) == "interception"
        assert badge["title"].split("\n")[1] == msg(lang, "kind_kz_issuer")
        popup = ff.popup(tab)
        assert (popup["verdictLevel"], popup["kind"]) == ("interception", msg(lang, "kind_kz_issuer"))
        assert popup["explanation"] == msg(lang, "explain_interception_kz", "localhost", "Example KZ Root CA")
        assert popup["advice"]["kind"] == "state"
        assert popup["advice"]["steps"][-1] == msg(lang, "advice_step_fix_interception", "Example KZ Root CA")
        assert popup["advice"]["codes"][-1] == "rootsentinel scan --fix --include-interception"
        assert popup["acknowledge"]["hidden"] is True, "a C=KZ root is never acknowledged from the popup"
        assert popup["origins"][0]["root"] == msg(lang, "origin_root", "Example KZ Root CA", msg(lang, "kind_kz_issuer"))
        assert popup["height"] <= POPUP_MAX, popup["height"]
        no_key_names(popup["bodyText"])
        shoot(ff, tab, f"kz-{lang}.png")

        # --- item 5: "I know this root" for a developer's own mkcert root -------------------------------------
        ff.navigate(dev_server.url("/"))
        tab = ff.tab_id(dev_server.url("/"))
        assert ff.wait_badge(tab, settled)["text"] == BADGE["interception"]
        popup = ff.popup(tab)
        assert popup["acknowledge"]["hidden"] is False and popup["acknowledge"]["button"] is True
        assert popup["height"] <= POPUP_MAX, popup["height"]
        ff.evaluate("document.querySelector('.ack-ask').click(); document.querySelector('.ack-yes').click(); true")
        badge = ff.wait_badge(tab, lambda b: b["text"] == BADGE["notice"], 30)
        assert badge["text"] == BADGE["notice"]
        # the catalogue knows mkcert by its root's name: the kind line says what it is, the level that you know it
        assert badge["title"].split("\n")[:2] == [msg(lang, "badge_title_acknowledged"), msg(lang, "category_dev_tool")]
        assert toolbar_icon_fill(ff) == "notice"
        popup = ff.popup(tab)
        assert (popup["verdictLevel"], popup["level"], popup["kind"]) == ("notice", msg(lang, "level_acknowledged"), msg(lang, "category_dev_tool"))
        assert popup["explanation"] == msg(lang, "explain_acknowledged", "localhost", "mkcert alice@laptop")
        assert popup["acknowledge"]["hidden"] is True
        assert popup["advice"]["kind"] == "acknowledged" and popup["advice"]["steps"][0] == msg(lang, "advice_step_ack_undo")
        assert popup["height"] <= POPUP_MAX, popup["height"]
        no_key_names(popup["bodyText"])
        shoot(ff, tab, f"acknowledged-{lang}.png")
        # listed in the options page with its key; forgetting it makes the page interception again
        ff.open_extension_page("options/options.html")
        poll(lambda: ff.evaluate("document.body.dataset.ready === '1'"), lambda r: r is True, 10, 0.1)
        listed = json.loads(ff.evaluate("JSON.stringify([...document.querySelectorAll('#ack-list li')].map(li => [li.dataset.spki, li.querySelector('.ack-name').textContent]))"))
        assert listed == [[pki.spki_sha256(mkcert.cert), "mkcert alice@laptop"]]
        ff.evaluate("document.querySelector('.ack-forget').click(); true")
        poll(lambda: ff.evaluate("document.querySelectorAll('#ack-list li').length"), lambda n: n == 0, 10, 0.2)
        ff.navigate(dev_server.url("/?again"))
        assert ff.wait_badge(tab, lambda b: b["text"] == BADGE["interception"], 30)["text"] == BADGE["interception"]
    # the audit log says what the badge said, page by page (issue 24 item 5: one place decides)
    events = [json.loads(line)["rootsentinel"] for line in audit.read_text().splitlines()]
    dev = [(e["level"], e["reason"]) for e in events if e["anchor"].get("name") == "mkcert alice@laptop"]
    dev = [x for i, x in enumerate(dev) if i == 0 or x != dev[i - 1]]  # a page's other responses repeat it
    assert dev == [("interception", "not_builtin_root"), ("notice", "acknowledged_root"), ("interception", "not_builtin_root")], dev


def test_policy_can_forbid_i_know_this_root(certdir):
    """Managed ``allow_user_acknowledge: false``: no button in the popup, the options page says why, and a root
    acknowledged before is not applied."""
    mkcert = pki.private_root("mkcert bob@desk", org="mkcert development CA")
    server = serve(pki.server_identity(mkcert), certdir, "dev", "Dev")
    local = {"acknowledged": [{"spki_sha256": pki.spki_sha256(mkcert.cert), "name": "mkcert bob@desk", "added": 1}]}
    with server, Firefox(trust=[write_root(mkcert, certdir, "mkcert")], managed={"allow_user_acknowledge": False},
                         local_settings=local) as ff:
        ff.navigate(server.url("/"))
        tab = ff.tab_id(server.url("/"))
        assert ff.wait_badge(tab, settled)["text"] == BADGE["interception"]
        assert ff.popup(tab)["acknowledge"]["hidden"] is True
        ff.open_extension_page("options/options.html")
        poll(lambda: ff.evaluate("document.body.dataset.ready === '1'"), lambda r: r is True, 10, 0.1)
        assert ff.evaluate("document.getElementById('ack-locked').hidden") is False
        assert ff.evaluate("document.getElementById('ack-locked').textContent") == msg("en", "options_ack_locked")


def test_kz_root_has_the_same_story_in_the_cli(certdir, tmp_path):
    """Item 2, the CLI half: ``check`` on the same kind of chain says government interception and exits 1."""
    kz = kz_root()
    chain, _ = pki.server_identity(kz, chain_above=[kz]).write(certdir, "kz-cli")
    out = subprocess.run([sys.executable, "-m", "native_host", "check", str(chain)], capture_output=True, text=True,
                         timeout=60, cwd=REPO, env={**os.environ, "ROOTSENTINEL_CONFIG": str(tmp_path / "none.json")})
    assert out.returncode == 1
    assert out.stdout.startswith("INTERCEPTION (unknown-interception)")
    assert "treat it as government interception" in out.stdout


ICON_ROWS = ["ok", "pending", "unknown", "notice", "interception", "browser-blocked", "banned"]


def test_toolbar_icon_states_with_their_badges():
    """Item 6: every level's icon as the real toolbar draws it under its badge, told apart by the pixels the
    browser drew (the left half, beside the badge), and a strip per language for the README."""
    styles = None
    with Firefox(host=None) as ff:
        ff.navigate("about:blank")
        tab = ff.tab_id("about:blank")
        styles = json.loads(ff.evaluate("import(browser.runtime.getURL('src/core/levels.js')).then((m) => JSON.stringify(m.BADGE))"))
        seen = {}
        for level in ICON_ROWS:
            icon_strip(ff, tab, [(level, level, "", styles[level]["color"])])  # no badge text: the icon alone
            seen[level] = toolbar_icon_fill(ff)
        assert seen == {"ok": "ok", "pending": None, "unknown": None, "notice": "notice", "interception": "interception",
                        "browser-blocked": "refused", "banned": "banned"}, seen
        for lang in ("en", "ru", "kk"):
            messages = catalogue(lang)
            rows = [(level, messages[f"level_{level.replace('-', '_')}"]["message"],
                     messages[styles[level]["text"]]["message"] if styles[level]["text"] else "", styles[level]["color"])
                    for level in ICON_ROWS]
            strip = icon_strip(ff, tab, rows)
            assert strip.startswith(b"\x89PNG")
            if os.environ.get("ROOTSENTINEL_UPDATE_SCREENSHOT") == "1":
                SHOTS.mkdir(exist_ok=True)
                (SHOTS / f"icons-{lang}.png").write_bytes(strip)
