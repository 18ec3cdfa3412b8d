/**
 * Advice per verdict category (issue 14): every kind gives a sentence and ordered steps in every
 * language; removal steps follow the OS and the browser; antivirus steps name the vendor's own setting
 * where the vendor documents one; `installed_in` (the helper's scan) is shown on banned verdicts and refused
 * pages; a refused certificate is not interception unless its root is installed here (issue 24 item 1);
 * the DOM is built from text nodes only (a tiny fake document, no HTML parser anywhere).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { translator } from "../../extension/src/core/i18n.js";
import { ANTIVIRUS_SETTING, adviceFor, adviceKind, guidePath, installedSteps } from "../../extension/src/core/advice.js";
import { renderAdvice } from "../../extension/src/core/render.js";
import { catalogue, fakeBrowser } from "./fake-browser.mjs";

const names = { host: "mail.example.kz", root: "Qaznet Trust Network", entry: "KZ 2019" };

const CASES = [
  [{ level: "banned", category: "state-mitm", reason: "blocklist_spki" }, "state"],
  [{ level: "banned", category: "malware-mitm", reason: "blocklist_spki" }, "vendor"],
  [{ level: "banned", category: "compromised-ca", reason: "blocklist_cert" }, "ca"],
  [{ level: "banned", category: "distrusted-ca", reason: "blocklist_issuer" }, "ca"],
  [{ level: "banned", category: "something-new", reason: "blocklist_cert" }, "ca"],
  [{ level: "banned", category: null, reason: "policy_banned" }, "policy"],
  [{ level: "banned", category: "state-mitm", reason: "banned_name" }, "state"],
  [{ level: "interception", category: "antivirus", reason: "non_public_anchor" }, "antivirus"],
  [{ level: "interception", category: "corporate-proxy", reason: "non_public_anchor" }, "corporate"],
  [{ level: "interception", category: "dev-tool", reason: "non_public_anchor" }, "devtool"],
  [{ level: "interception", category: "parental-control", reason: "non_public_anchor" }, "parental"],
  [{ level: "interception", category: "adware", reason: "non_public_anchor" }, "vendor"],
  [{ level: "interception", category: "unknown-interception", reason: "non_public_anchor" }, "unknown"],
  [{ level: "interception", category: "unknown-interception", reason: "kz_issuer" }, "state"],
  [{ level: "notice", category: "allowlisted", reason: "allowlisted_root" }, "corporate"],
  [{ level: "unknown", reason: "formerly_public_root" }, "formerly"],
  [{ level: "unknown", reason: "probe_failed" }, "unreachable"],
  [{ level: "browser-blocked", error: { message: "SEC_ERROR_UNKNOWN_ISSUER" } }, "blocked"],
  [{ level: "browser-blocked", probe: { level: "interception", category: "unknown-interception", names, verdict: { installed_in: [] } } }, "refused"],
  [{ level: "browser-blocked", probe: { level: "banned", category: "state-mitm", names, verdict: {} } }, "refused"],
  [{ level: "browser-blocked", probe: { level: "banned", category: "state-mitm", names, verdict: { installed_in: [{ store: "nss", location: "l", remove: "r" }] } } }, "state"],
  [{ level: "notice", category: "acknowledged", reason: "acknowledged_root" }, "acknowledged"],
];

const ENVS = [
  { os: "linux", browser: "firefox" }, { os: "linux", browser: "chromium" }, { os: "win", browser: "chromium" },
  { os: "mac", browser: "firefox" }, { os: "android", browser: "firefox" }, {},
];

for (const lang of ["en", "ru", "kk"]) {
  const t = translator(fakeBrowser({ lang }).i18n);
  test(`${lang}: every category gives a meaning and steps, fully translated`, () => {
    for (const [c, kind] of CASES) {
      for (const env of ENVS) {
        const a = adviceFor(t, { ...c, names }, env);
        assert.equal(a?.kind, kind, `${c.level}/${c.category}/${c.reason}`);
        assert.ok(a.means.length > 20);
        assert.ok(a.steps.length >= 1);
        for (const s of [a.means, ...a.steps.map((x) => x.text)]) assert.doesNotMatch(s, /\$|advice_|name_unnamed/, `${lang}: "${s}"`);
      }
    }
  });
}

test("nothing to advise for ok, pending, and checks the popup already explains", () => {
  for (const rec of [null, {}, { level: "ok" }, { level: "pending" }, { level: "unknown", error: { code: "host_unreachable" } },
    { level: "unknown", reason: "insecure" }, { level: "bogus" }]) {
    assert.equal(adviceKind(rec), null);
    assert.equal(adviceFor((k) => k, rec), null);
  }
});

const keysOf = (a) => a.steps.map((s) => s.text);
const tk = (k, subs) => (subs ? `${k}(${subs.join("|")})` : k);

test("a state root: no passwords, another network, then the removal steps for this OS and browser", () => {
  const rec = { level: "banned", category: "state-mitm", names };
  assert.deepEqual(keysOf(adviceFor(tk, rec, { os: "linux", browser: "firefox" })), [
    "advice_step_no_passwords", "advice_step_other_network", "advice_step_remove_firefox(Qaznet Trust Network)", "advice_step_fix"]);
  assert.deepEqual(keysOf(adviceFor(tk, rec, { os: "win", browser: "firefox" })), [
    "advice_step_no_passwords", "advice_step_other_network", "advice_step_remove_firefox(Qaznet Trust Network)",
    "advice_step_remove_windows(Qaznet Trust Network)", "advice_step_fix"]);
  assert.deepEqual(keysOf(adviceFor(tk, rec, { os: "mac", browser: "chromium" })).slice(2), [
    "advice_step_remove_mac(Qaznet Trust Network)", "advice_step_fix"]);
  const linuxChromium = adviceFor(tk, rec, { os: "linux", browser: "chromium" });
  assert.deepEqual(linuxChromium.steps[2].code, ["certutil -L -d sql:$HOME/.pki/nssdb", "certutil -D -d sql:$HOME/.pki/nssdb -n 'NICKNAME'"]);
  assert.deepEqual(linuxChromium.steps[3].code, ["rootsentinel scan --fix"], "one command finds and removes (it lists and asks first)");
  assert.deepEqual(keysOf(adviceFor(tk, rec, { os: "android", browser: "firefox" })).slice(2), [
    "advice_step_remove_firefox(Qaznet Trust Network)", "advice_step_remove_device(Qaznet Trust Network)"]);
  assert.equal(adviceFor(tk, rec, {}).guide, true);
});

test("antivirus: the vendor's documented setting for Avast, ESET and Kaspersky; generic otherwise", () => {
  const av = (product) => keysOf(adviceFor(tk, { level: "interception", category: "antivirus", names: { ...names, product } }, {}));
  assert.deepEqual(av("Avast"), ["advice_step_av_confirm(Avast)", "advice_step_av_avast", "advice_step_reload"]);
  assert.deepEqual(av("ESET")[1], "advice_step_av_eset");
  assert.deepEqual(av("Kaspersky")[1], "advice_step_av_kaspersky");
  assert.deepEqual(av("Norton")[1], "advice_step_av_generic");
  assert.deepEqual(av("__proto__")[1], "advice_step_av_generic");
  assert.deepEqual(av("constructor")[1], "advice_step_av_generic");
  assert.deepEqual(av(undefined), ["advice_step_av_confirm_generic", "advice_step_av_generic", "advice_step_reload"]);
  // every product with a setting is an antivirus product the catalogue knows
  assert.deepEqual(Object.keys(ANTIVIRUS_SETTING).sort(), ["Avast", "ESET", "Kaspersky"]);
});

test("corporate: whom to ask; dev tool: you or someone installed it, and how to remove it", () => {
  assert.deepEqual(keysOf(adviceFor(tk, { level: "interception", category: "corporate-proxy", names }, {})), [
    "advice_step_corp_ask(Qaznet Trust Network)", "advice_step_corp_private", "advice_step_corp_not_work"]);
  const dev = keysOf(adviceFor(tk, { level: "interception", category: "dev-tool", names: { ...names, product: "mitmproxy" } }, { os: "linux", browser: "firefox" }));
  assert.deepEqual(dev.slice(0, 3), ["advice_step_dev_yours_named(mitmproxy)", "advice_step_dev_not_yours", "advice_step_remove_firefox(Qaznet Trust Network)"]);
});

test("a C=KZ private root: the state story, and the command that really removes it (issue 24 item 2)", () => {
  const rec = { level: "interception", category: "unknown-interception", reason: "kz_issuer", names };
  const a = adviceFor(tk, rec, { os: "linux", browser: "firefox" });
  assert.equal(a.kind, "state");
  assert.deepEqual(keysOf(a), ["advice_step_no_passwords", "advice_step_other_network",
    "advice_step_remove_firefox(Qaznet Trust Network)", "advice_step_fix_interception(Qaznet Trust Network)"]);
  // scan --fix keeps a root that is not banned unless --include-interception (native_host/scan/cli.py)
  assert.deepEqual(a.steps.at(-1).code, ["rootsentinel scan --fix --include-interception"]);
  assert.equal(a.guideVerdict, "intercepted");
  // a banned state root keeps plain --fix
  assert.deepEqual(adviceFor(tk, { ...rec, level: "banned", category: "state-mitm", reason: "blocklist_spki" }, {}).steps.at(-1).code,
    ["rootsentinel scan --fix"]);
});

test("browser-blocked: refused (nothing to remove) unless the helper found the root installed here (issue 24 item 1)", () => {
  const probe = (level, installed) => ({ level, category: level === "banned" ? "state-mitm" : "unknown-interception", names,
    verdict: installed === undefined ? {} : { installed_in: installed } });
  const env = { os: "linux", browser: "firefox" };
  for (const installed of [[], undefined]) {
    const a = adviceFor(tk, { level: "browser-blocked", probe: probe("interception", installed) }, env);
    assert.equal(a.kind, "refused");
    assert.deepEqual(keysOf(a), ["advice_step_refused_no_click", "advice_step_refused_own_device", "advice_step_refused_network"]);
    assert.equal(a.guideVerdict, "refused");
    const banned = adviceFor(tk, { level: "browser-blocked", probe: probe("banned", installed) }, env);
    assert.deepEqual(keysOf(banned), ["advice_step_refused_no_click", "advice_step_refused_do_not_install(Qaznet Trust Network)",
      "advice_step_other_network"]);
    for (const x of [a, banned]) assert.ok(!keysOf(x).some((k) => k.startsWith("advice_step_remove_firefox")), "never remove a root that is not there");
  }
  const here = [{ store: "anchors", location: "/usr/local/share/ca-certificates/q.crt", remove: "sudo rm /usr/local/share/ca-certificates/q.crt" }];
  const installed = adviceFor(tk, { level: "browser-blocked", probe: probe("banned", here) }, env);
  assert.equal(installed.kind, "state");
  assert.deepEqual(keysOf(installed), ["advice_step_no_passwords", "advice_step_other_network", "advice_step_fix"],
    "Firefox refused it, so it is not in Firefox: no Firefox step, the store is in installed_in");
  assert.deepEqual(installed.installed.map((s) => s.code), [[here[0].remove]]);
  assert.equal(installed.guideVerdict, "banned");
  const pending = adviceFor(tk, { level: "browser-blocked" }, {});
  assert.deepEqual(keysOf(pending), ["advice_step_refused_no_click", "advice_step_other_network"]);
  assert.equal(pending.guide, false);
});

test("an acknowledged root: how to undo it, and for a company's root, ask the IT team first (issue 24 item 5)", () => {
  const ack = (kind) => ({ level: "notice", category: "acknowledged", reason: "acknowledged_root", names,
    interceptor: kind ? { kind, product: "Zscaler", vendor: "Zscaler" } : undefined });
  assert.deepEqual(keysOf(adviceFor(tk, ack("corporate-proxy"), { os: "linux", browser: "firefox" })), [
    "advice_step_ask_it_first(Qaznet Trust Network)", "advice_step_ack_undo", "advice_step_remove_firefox(Qaznet Trust Network)", "advice_step_scan"]);
  assert.deepEqual(keysOf(adviceFor(tk, ack(null), {})).slice(0, 1), ["advice_step_ack_undo"]);
  assert.equal(adviceFor(tk, ack(null), {}).guideVerdict, "intercepted");
});

test("the guide's path follows the UI language and the verdict", () => {
  assert.equal(guidePath("ru-RU", "banned"), "help/ru/banned.html");
  assert.equal(guidePath("kk", "refused"), "help/kk/refused.html");
  assert.equal(guidePath("de", "intercepted"), "help/en/intercepted.html");
  assert.equal(guidePath("en-US", "../../x"), "help/en/intercepted.html");
  assert.equal(guidePath(undefined, undefined), "help/en/intercepted.html");
});

const INSTALLED = [
  { store: "Firefox profile default-esr", location: "/home/u/.mozilla/firefox/x.default-esr/cert9.db", remove: "certutil -D -d sql:/home/u/.mozilla/firefox/x.default-esr -n 'Superfish, Inc.'" },
  { store: "System anchors", location: "/usr/local/share/ca-certificates/sf.crt", remove: "sudo rm /usr/local/share/ca-certificates/sf.crt && sudo update-ca-certificates" },
];

test("installed_in: one sentence and one command per store, banned verdicts only, malformed entries skipped", () => {
  const rec = { level: "banned", category: "malware-mitm", names, verdict: { installed_in: [...INSTALLED, null, { store: 5 }, "x", { store: "S" }] } };
  const steps = installedSteps(tk, rec);
  assert.equal(steps.length, 3);
  assert.equal(steps[0].text, `advice_installed(Firefox profile default-esr|${INSTALLED[0].location})`);
  assert.deepEqual(steps[0].code, [INSTALLED[0].remove]);
  assert.deepEqual(steps[2], { text: "advice_installed(S|)", code: [] });
  assert.deepEqual(installedSteps(tk, { ...rec, level: "interception" }), []);
  assert.equal(installedSteps(tk, { level: "browser-blocked", probe: { level: "interception", verdict: { installed_in: INSTALLED } } }).length, 2);
  assert.deepEqual(installedSteps(tk, { level: "banned", verdict: {} }), []);
  assert.deepEqual(installedSteps(tk, { level: "banned", verdict: { installed_in: "nope" } }), []);
  assert.equal(installedSteps(tk, { level: "banned", verdict: { installed_in: Array(50).fill(INSTALLED[0]) } }).length, 8);
  // a browser-blocked page whose probe found a banned root
  assert.equal(installedSteps(tk, { level: "browser-blocked", probe: { level: "banned", verdict: { installed_in: INSTALLED } } }).length, 2);
});

// --- a tiny document: enough for dom.js (createElement, textContent, attributes, append, remove) ---------
class FakeNode {
  constructor(tag) { this.tagName = tag.toUpperCase(); this.children = []; this.attrs = {}; this.dataset = {}; this.hidden = false; this.ownText = ""; this.className = ""; this.parent = null; }
  set textContent(v) { this.children = []; this.ownText = String(v); }
  get textContent() { return this.ownText + this.children.map((c) => c.textContent).join(""); }
  set innerHTML(_) { throw new Error("innerHTML used"); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return this.attrs[k] ?? null; }
  append(...nodes) { for (const n of nodes) { n.parent = this; this.children.push(n); } }
  get firstChild() { return this.children[0] ?? (this.ownText ? { remove: () => { this.ownText = ""; } } : null); }
  remove() { if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this); }
  all(tag) { const out = []; for (const c of this.children) { if (c.tagName === tag) out.push(c); out.push(...c.all(tag)); } return out; }
}
const fakeDoc = { createElement: (tag) => new FakeNode(tag) };

for (const lang of ["en", "ru", "kk"]) {
  test(`${lang}: renderAdvice shows the meaning, the steps, installed_in commands in <code>, and the guide link in the language`, () => {
    const t = translator(fakeBrowser({ lang }).i18n);
    const msgs = catalogue(lang);
    const box = new FakeNode("section");
    const hostile = "<img src=x onerror=alert(1)>";
    const rec = { level: "banned", category: "state-mitm", names: { ...names, root: hostile },
      verdict: { installed_in: [{ store: hostile, location: "L", remove: "rm '<b>x</b>'" }] } };
    const a = renderAdvice(fakeDoc, box, rec, t, { env: { os: "linux", browser: "firefox" }, guideUrl: (v) => `moz-extension://u/${guidePath(lang, v)}` });
    assert.equal(a.kind, "state");
    assert.equal(box.hidden, false);
    assert.equal(box.dataset.kind, "state");
    const text = box.textContent;
    assert.ok(text.includes(msgs.advice_heading.message));
    assert.ok(text.includes(msgs.advice_means_state.message));
    assert.ok(text.includes(msgs.advice_step_no_passwords.message));
    assert.ok(text.includes(hostile), "names are shown as text");
    const codes = box.all("CODE").map((c) => c.textContent);
    assert.deepEqual(codes, ["rootsentinel scan --fix", "rm '<b>x</b>'"]);
    const [link] = box.all("A");
    assert.equal(link.attrs.href, `moz-extension://u/help/${lang}/banned.html`);
    assert.equal(link.textContent, msgs.advice_guide_link.message);
    assert.equal(box.all("IMG").length, 0);
    // the steps come first (the popup's first screen holds the first step), then where it is installed
    assert.ok(text.indexOf(msgs.advice_steps_heading.message) < text.indexOf(msgs.advice_installed.message.split("$")[0]));
    // the popup leaves out the meaning: its lead sentence says it (each thing once)
    renderAdvice(fakeDoc, box, rec, t, { means: false });
    assert.ok(!box.textContent.includes(msgs.advice_means_state.message) && !box.textContent.includes(msgs.advice_heading.message));

    // no advice: hidden and empty
    assert.equal(renderAdvice(fakeDoc, box, { level: "ok" }, t, {}), null);
    assert.equal(box.hidden, true);
    assert.equal(box.textContent, "");
  });
}

test("renderChain: readable names first, the full DN kept, and a sentence on the root's public status", async () => {
  const { renderChain } = await import("../../extension/src/core/render.js");
  const t = translator(fakeBrowser({ lang: "en" }).i18n);
  const msgs = catalogue("en");
  const list = new FakeNode("ol");
  const verdict = { chain: [
    { index: 0, role: "leaf", subject: "CN=localhost", issuer: "CN=Superfish\\, Inc.,O=Superfish\\, Inc.,C=US", public_root: false },
    { index: 1, role: "root", subject: "CN=Superfish\\, Inc.,O=Superfish\\, Inc.,C=US", issuer: "CN=Superfish\\, Inc.,O=Superfish\\, Inc.,C=US", public_root: false },
  ] };
  renderChain(fakeDoc, list, verdict, t, "en");
  const [leaf, root] = list.children;
  const rowText = (li, cls) => li.children.find((c) => c.className.split(" ").includes(cls))?.children[1].textContent;
  assert.equal(rowText(leaf, "subject-name"), "localhost");
  assert.equal(rowText(leaf, "issuer-name"), "Superfish, Inc.");
  assert.equal(rowText(root, "subject"), "CN=Superfish\\, Inc.,O=Superfish\\, Inc.,C=US");
  assert.equal(root.children.find((c) => c.className === "public-root").textContent, msgs.cert_public_root_no.message);
  assert.equal(leaf.children.find((c) => c.className === "public-root"), undefined);
});
