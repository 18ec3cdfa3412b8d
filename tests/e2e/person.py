"""What the issue-24 end-to-end tests share (tests/e2e/test_person_e2e.py): certificates a person meets (a plain
self-signed device, a private root registered in Kazakhstan), the tab state read back from the extension, the
toolbar button's real pixels, and a strip of every icon state with its badge as Firefox draws them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import pki
from firefox import ACTION_WIDGET, Firefox, chrome_evaluate, pin_action
from browser import poll


def self_signed_identity(cn: str = "localhost") -> pki.ServerIdentity:
    """What a router, a NAS or a development server presents: one self-signed certificate for ``cn`` (no CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(pki.NOW - dt.timedelta(hours=1))
            .not_valid_after(pki.NOW + dt.timedelta(days=10))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .sign(key, hashes.SHA256()))
    return pki.ServerIdentity([cert], key)


def kz_root(cn: str = "Example KZ Root CA", org: str = "Example KZ Org") -> pki.Issuer:
    """A fresh private root whose subject names Kazakhstan (C=KZ): not banned, `kz_issuer`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(pki.NOW - dt.timedelta(days=1))
            .not_valid_after(pki.NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return pki.Issuer(cert, key)


def tab_state(ff: Firefox, tab: int) -> dict | None:
    """The tab state the background keeps in storage.session (tabstate.js), read from an extension page."""
    ff.open_extension_page("popup/popup.html?tab=0")
    raw = ff.evaluate(f"browser.storage.session.get('tab:{tab}').then((d) => JSON.stringify(d['tab:{tab}'] ?? null))")
    data = json.loads(raw)
    return data["state"] if data else None


def probe_installed_in(ff: Firefox, tab: int):
    """``installed_in`` of the main record's probe verdict (absent: None), once the probe has answered."""
    state = poll(lambda: tab_state(ff, tab), lambda s: bool(s and s["main"].get("probe")), 25, 0.3)
    return (state["main"]["probe"].get("verdict") or {}).get("installed_in")


#: The colour each icon state's shield is filled with (build/icons/*.svg); neutral is a white shield.
ICON_FILL = {"ok": (0x24, 0x29, 0x2f), "notice": (0x09, 0x69, 0xda), "interception": (0xd3, 0x54, 0x00),
             "banned": (0xb0, 0x00, 0x20), "refused": (0x6f, 0x42, 0xc1)}


def toolbar_icon_fill(ff: Firefox) -> str | None:
    """Which icon state's fill colour covers the left half of the toolbar button's icon as Firefox draws it
    (drawWindow of the real toolbar; Firefox draws the badge on the top right), or None (neutral)."""
    pin_action(ff)
    ff.bidi.cmd("browsingContext.activate", {"context": ff.context})
    counts = json.loads(chrome_evaluate(ff, f"""(async () => {{
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const icon = document.getElementById("{ACTION_WIDGET}").querySelector(".toolbarbutton-icon");
        const r = icon.getBoundingClientRect();
        const c = document.createElementNS("http://www.w3.org/1999/xhtml", "canvas");
        c.width = Math.ceil(r.width / 2); c.height = Math.ceil(r.height);
        const g = c.getContext("2d");
        g.drawWindow(window, r.left, r.top, c.width, c.height, "white");
        const px = g.getImageData(0, 0, c.width, c.height).data;
        const fills = {json.dumps(ICON_FILL)};
        const out = {{}};
        for (const [state, rgb] of Object.entries(fills)) {{
          let n = 0;
          for (let i = 0; i < px.length; i += 4) {{
            if (Math.abs(px[i] - rgb[0]) + Math.abs(px[i + 1] - rgb[1]) + Math.abs(px[i + 2] - rgb[2]) < 40) n++;
          }}
          out[state] = n;
        }}
        return JSON.stringify(out);
    }})()"""))
    state, n = max(counts.items(), key=lambda kv: kv[1])
    return state if n >= 6 else None


def icon_strip(ff: Firefox, tab: int, rows: list[tuple[str, str, str, str]], scale: int = 3) -> bytes:
    """A PNG: for each ``(level, label, badge text, badge colour)`` the real toolbar button with the level's
    icon (icon.js iconPath, through action.setIcon) and its badge, as Firefox draws it, magnified ``scale``
    times (nearest neighbour, so the 16 px pixels show), beside the label."""
    pin_action(ff)
    shots = []
    for level, label, text, color in rows:
        ff.evaluate(f"""import(browser.runtime.getURL('src/core/icon.js')).then((m) => Promise.all([
            browser.action.setIcon({{tabId: {tab}, path: m.iconPath({json.dumps(level)})}}),
            browser.action.setBadgeText({{tabId: {tab}, text: {json.dumps(text)}}}),
            browser.action.setBadgeBackgroundColor({{tabId: {tab}, color: {json.dumps(color)}}})])).then(() => true)""")
        ff.bidi.cmd("browsingContext.activate", {"context": ff.context})
        shot = chrome_evaluate(ff, f"""(async () => {{
            await new Promise((r) => setTimeout(r, 250));
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            const b = document.getElementById("{ACTION_WIDGET}").getBoundingClientRect();
            const c = document.createElementNS("http://www.w3.org/1999/xhtml", "canvas");
            c.width = Math.ceil(b.width); c.height = Math.ceil(b.height);
            c.getContext("2d").drawWindow(window, b.left, b.top, c.width, c.height, "white");
            return c.toDataURL("image/png");
        }})()""")
        shots.append((label, shot))
    data = chrome_evaluate(ff, f"""(async () => {{
        const shots = {json.dumps(shots)};
        const imgs = [];
        for (const [, src] of shots) {{ const i = new Image(); i.src = src; await i.decode(); imgs.push(i); }}
        const s = {scale}, w = Math.max(...imgs.map((i) => i.width)) * s, h = Math.max(...imgs.map((i) => i.height)) * s;
        const c = document.createElementNS("http://www.w3.org/1999/xhtml", "canvas");
        c.width = w + 420; c.height = (h + 4) * imgs.length + 8;
        const g = c.getContext("2d");
        g.fillStyle = "#ffffff"; g.fillRect(0, 0, c.width, c.height);
        g.imageSmoothingEnabled = false;
        g.font = "16px sans-serif"; g.fillStyle = "#1f2328"; g.textBaseline = "middle";
        imgs.forEach((img, k) => {{
          const y = 4 + k * (h + 4);
          g.drawImage(img, 8, y, img.width * s, img.height * s);
          g.fillText(shots[k][0], w + 24, y + h / 2);
        }});
        return c.toDataURL("image/png");
    }})()""")
    return base64.b64decode(data.split(",", 1)[1])
