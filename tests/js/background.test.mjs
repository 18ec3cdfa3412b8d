/**
 * The background core and the Firefox capture adapter against a fake `browser` and a fake host.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startBackground } from "../../extension/src/core/background.js";
import { registerCapture, isSecurityError } from "../../extension/src/firefox/capture.js";
import { PERSIST_DELAY_MS } from "../../extension/src/core/tabstate.js";
import { fakeBrowser, securityInfo, settle, verdict } from "./fake-browser.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const LEAF_A = "a1".repeat(32);
const LEAF_B = "b2".repeat(32);
const LEAF_C = "c3".repeat(32);

function hello(msg) {
  return { type: "hello", id: msg.id, version: "0.1.0", protocol: 1, blocklist: { version: "t", size: 1, sha256: "00" } };
}

/** A host that judges by leaf fingerprint. */
function hostByLeaf(levels) {
  return (msg) => {
    if (msg.type === "hello") return hello(msg);
    if (msg.type === "check") {
      const fp = msg.securityInfo.certificates[0].fingerprint.sha256.replace(/:/g, "").toLowerCase();
      return verdict(msg, levels[fp] ?? "ok", { root: `root-${fp.slice(0, 2)}` });
    }
    return undefined;
  };
}

let nextRequest = 1;
/** One response; a main frame then commits (webNavigation.onCommitted), as a page does, unless `commit: false`. */
function respond(browser, { tabId = 7, url, type = "image", leaf, fromCache = false, requestId, si, commit = true }) {
  const id = String(requestId ?? nextRequest++);
  browser.securityInfos.set(id, si ?? securityInfo(leaf));
  const [ret] = browser.webRequest.onHeadersReceived.fire({ requestId: id, tabId, url, type, fromCache, frameId: type === "main_frame" ? 0 : 3 });
  if (type === "main_frame" && commit) browser.webNavigation.onCommitted.fire({ tabId, frameId: 0, url });
  return ret;
}

function checks(browser) {
  return browser.native.sent.filter((m) => m.type === "check");
}

async function boot(opts) {
  const browser = fakeBrowser(opts);
  const sentinel = startBackground(browser, registerCapture);
  await settle();
  return { browser, sentinel };
}

test("getSecurityInfo is called synchronously in the listener, with the chain and raw DER", async () => {
  const { browser } = await boot({ host: hostByLeaf({}) });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A, requestId: "r1" });
  assert.deepEqual(browser.webRequest.calls, [{ requestId: "r1", options: { certificateChain: true, rawDER: true } }]);
});

test("a verdict cache hit (same leaf and hostname) avoids host calls and sends no raw DER again", async () => {
  const { browser } = await boot({ host: hostByLeaf({}) });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  for (let i = 0; i < 20; i += 1) respond(browser, { url: `https://a.test/img${i}.png`, leaf: LEAF_A });
  await settle();
  for (let i = 0; i < 20; i += 1) respond(browser, { url: `https://a.test/late${i}.js`, type: "script", leaf: LEAF_A });
  await settle();
  assert.equal(checks(browser).length, 1, "41 requests of one server cost one host call");
  assert.deepEqual(checks(browser)[0].securityInfo.certificates[0].rawDER, [48, 130, 1, 2]);
  respond(browser, { url: "https://b.test/x.css", type: "stylesheet", leaf: LEAF_A });
  await settle();
  assert.equal(checks(browser).length, 2, "the same leaf on another hostname is asked again");
  assert.equal(checks(browser)[1].url, "https://b.test/x.css");
});

test("the page shows the worst verdict of its requests and lists intercepted origins", async () => {
  const { browser, sentinel } = await boot({ host: hostByLeaf({ [LEAF_B]: "interception", [LEAF_C]: "banned" }) });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  assert.equal(browser.badges.get(7).text, "", "ok page: quiet badge");
  assert.match(browser.badges.get(7).title, /^RootSentinel: not intercepted/);
  respond(browser, { url: "https://cdn.test/lib.js", type: "script", leaf: LEAF_B });
  await settle();
  assert.equal(browser.badges.get(7).text, "!");
  respond(browser, { url: "https://ads.test:8443/px.gif", leaf: LEAF_C });
  respond(browser, { url: "https://a.test/more.png", leaf: LEAF_A });
  await settle();
  assert.equal(browser.badges.get(7).text, "!!");
  assert.equal(browser.badges.get(7).color, "#b00020");
  const state = sentinel.tabs.get(7);
  assert.equal(state.level, "banned");
  assert.deepEqual(Object.fromEntries(Object.entries(state.origins).map(([o, r]) => [o, r.level])), {
    "https://a.test": "ok", "https://cdn.test": "interception", "https://ads.test:8443": "banned",
  });
  assert.equal(browser.notificationsCreated.length, 1, "one notification for the banned origin");
  assert.match(browser.notificationsCreated[0].message, /root-c3/);
});

test("a plain-http main frame is never ok, and an intercepted subresource makes it interception", async () => {
  const { browser, sentinel } = await boot({ host: hostByLeaf({ [LEAF_B]: "interception" }) });
  browser.webRequest.onHeadersReceived.fire({ requestId: "h1", tabId: 7, url: "http://plain.test/", type: "main_frame", frameId: 0 });
  browser.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "http://plain.test/" });
  await settle();
  assert.equal(browser.badges.get(7).text, "?");
  assert.equal(sentinel.tabs.get(7).main.reason, "insecure");
  respond(browser, { url: "https://cdn.test/a.js", type: "script", leaf: LEAF_B });
  await settle();
  assert.equal(browser.badges.get(7).text, "!");
});

test("redirects: the final main-frame response wins even if the first hop's verdict arrives last", async () => {
  let releaseFirst;
  const firstHop = new Promise((r) => { releaseFirst = r; });
  const base = hostByLeaf({ [LEAF_C]: "banned" });
  const host = (msg, port) => (msg.type === "check" && msg.url === "https://old.test/"
    ? firstHop.then(() => base(msg, port)) : base(msg, port));
  const { browser, sentinel } = await boot({ host });
  respond(browser, { url: "https://old.test/", type: "main_frame", leaf: LEAF_C, requestId: "nav", commit: false });
  respond(browser, { url: "https://new.test/", type: "main_frame", leaf: LEAF_A, requestId: "nav" });
  await settle();
  releaseFirst();
  await settle();
  assert.equal(sentinel.tabs.get(7).url, "https://new.test/");
  assert.equal(sentinel.tabs.get(7).level, "ok");
  assert.equal(browser.badges.get(7).text, "");
  assert.deepEqual(Object.keys(sentinel.tabs.get(7).origins), ["https://new.test"]);
});

test("a missing host gives unknown with the fix, never ok", async () => {
  const { browser, sentinel } = await boot({ host: null });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle(10);
  const badge = browser.badges.get(7);
  assert.equal(badge.text, "?");
  assert.equal(badge.color, "#57606a");
  assert.match(badge.title, /host not reachable/);
  const rec = sentinel.tabs.get(7).main;
  assert.equal(rec.level, "unknown");
  assert.equal(rec.error.code, "host_unreachable");
  assert.match(rec.error.message, /No such native application/);
});

test("a host that crashes mid-request turns the page unknown, and the next request reconnects after backoff", async () => {
  const { browser, sentinel } = await boot({ host: (msg) => (msg.type === "hello" ? hello(msg) : undefined) });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  browser.native.ports[0].crash("native host exited");
  await settle();
  assert.equal(sentinel.tabs.get(7).main.error.code, "host_unreachable");
  assert.equal(browser.badges.get(7).text, "?");
  assert.equal(browser.native.ports.length, 1, "no reconnect before the backoff delay");
  sentinel.host.retryAt = 0;
  browser.native.host = hostByLeaf({});
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  assert.equal(browser.native.ports.length, 2);
  assert.equal(browser.native.sent.at(-2).type, "hello", "hello first on the new connection");
  assert.equal(sentinel.tabs.get(7).level, "ok");
});

test("managed settings win over local ones, and the managed policy goes into hello", async () => {
  const spki = "9f".repeat(32);
  const { browser, sentinel } = await boot({
    host: hostByLeaf({}),
    local: { mode: "warn", notifications: false },
    managed: { mode: "enforce", allow_spki_sha256: [spki.toUpperCase(), "not-hex"] },
  });
  assert.equal(sentinel.settings.mode, "enforce");
  assert.equal(sentinel.settings.notifications, false, "keys the administrator did not set stay local");
  assert.deepEqual(sentinel.settings.locked, ["mode"]);
  assert.deepEqual(browser.native.sent[0], { type: "hello", client: "firefox/0.1.0", policy: { allow_spki_sha256: [spki] }, id: 1 });
});

test("enforce mode redirects a banned main frame to the explanation page; warn mode never holds it", async () => {
  const levels = { [LEAF_C]: "banned" };
  const enforce = await boot({ host: hostByLeaf(levels), managed: { mode: "enforce" } });
  const held = respond(enforce.browser, { url: "https://bad.test/", type: "main_frame", leaf: LEAF_C, tabId: 9 });
  assert.ok(held instanceof Promise);
  assert.deepEqual(await held, { redirectUrl: "moz-extension://test-uuid/blocked/blocked.html?tab=9" });
  const saved = await enforce.browser.storage.session.get("blocked:9");
  assert.equal(saved["blocked:9"].record.url, "https://bad.test/");
  assert.deepEqual(await respond(enforce.browser, { url: "https://good.test/", type: "main_frame", leaf: LEAF_A, tabId: 9 }), {});
  // the block is reported to the host for the audit log, once, with the page and its leaf
  const blocked = enforce.browser.native.sent.filter((m) => m.type === "blocked");
  assert.equal(blocked.length, 1);
  assert.equal(blocked[0].url, "https://bad.test/");

  const warn = await boot({ host: hostByLeaf(levels) });
  assert.equal(respond(warn.browser, { url: "https://bad.test/", type: "main_frame", leaf: LEAF_C }), undefined);
  assert.equal(respond(warn.browser, { url: "https://bad.test/x.png", leaf: LEAF_C }), undefined);
  await settle();
  assert.equal(warn.browser.native.sent.filter((m) => m.type === "blocked").length, 0, "warn mode blocks nothing");
});

test("the badge is re-applied when a navigation commits (Firefox clears it) and after an event-page restart", async () => {
  const first = await boot({ host: hostByLeaf({ [LEAF_B]: "interception" }) });
  respond(first.browser, { url: "https://a.test/page", type: "main_frame", leaf: LEAF_B, commit: false });
  await settle();
  assert.equal(first.browser.badges.get(7), undefined, "a response that has not committed draws nothing");
  first.browser.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://a.test/page#top" });
  await settle();
  assert.equal(first.browser.badges.get(7).text, "!");

  // A new event page with the same storage.session (written once the coalescing delay passed):
  // state comes back, nothing is lost.
  await sleep(PERSIST_DELAY_MS + 20);
  const session = await first.browser.storage.session.get(null);
  const second = await boot({ host: hostByLeaf({}), session });
  second.browser.tabs.onUpdated.fire(7, { status: "complete" }, { id: 7 });
  await settle();
  assert.equal(second.browser.badges.get(7).text, "!");
  assert.equal(checks(second.browser).length, 0);
});

test("a commit without a judged response is not checked: never the verdict the tab had for that URL (issue 22 item 3)", async () => {
  const { browser, sentinel } = await boot({ host: hostByLeaf({ [LEAF_C]: "banned" }) });
  respond(browser, { url: "https://a.test/one", type: "main_frame", leaf: LEAF_A });
  await settle();
  assert.equal(browser.badges.get(7).text, "");
  respond(browser, { url: "https://evil.test/", type: "main_frame", leaf: LEAF_C });
  await settle();
  assert.equal(browser.badges.get(7).text, "!!");
  // back to /one (bfcache), or /one served by a service worker: no response of its own was judged
  browser.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://a.test/one" });
  await settle();
  assert.equal(browser.badges.get(7).text, "?");
  assert.equal(sentinel.tabs.get(7).main.error.code, "no_security_info");
  browser.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://sw.test/" });
  await settle();
  assert.equal(browser.badges.get(7).text, "?");
});

test("fromCache responses are labelled as such", async () => {
  const { browser, sentinel } = await boot({ host: hostByLeaf({}) });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A, fromCache: true });
  await settle();
  assert.equal(sentinel.tabs.get(7).main.fromCache, true);
  assert.equal(checks(browser)[0].securityInfo.fromCache, true);
});

test("a certificate error on a main frame is browser-blocked and the host probes the server", async () => {
  const probeReplies = [];
  let installedIn; // the probe's installed_in: undefined (unknown), [] (nowhere) or a store
  const host = (msg) => {
    if (msg.type === "hello") return hello(msg);
    if (msg.type === "probe") {
      probeReplies.push(msg);
      const reply = { ...verdict({ ...msg, url: "https://kz.test/" }, "banned", { root: "Qaznet Trust Network" }), category: "state-mitm", evidence: "probe" };
      if (installedIn !== undefined) reply.installed_in = installedIn;
      return reply;
    }
    return undefined;
  };
  const { browser, sentinel } = await boot({ host });
  browser.webRequest.onErrorOccurred.fire({ requestId: "e1", tabId: 7, url: "https://kz.test:8443/", type: "main_frame", error: "NS_BINDING_ABORTED" });
  await settle();
  assert.equal(sentinel.tabs.get(7), null, "network aborts are not certificate errors");
  const refuse = async (id) => {
    browser.webRequest.onErrorOccurred.fire({ requestId: id, tabId: 7, url: "https://kz.test:8443/", type: "main_frame", error: "Peer’s Certificate issuer is not recognized." });
    await settle();
    return browser.badges.get(7);
  };
  let badge = await refuse("e2");
  assert.deepEqual(probeReplies.map((m) => [m.host, m.port, m.installed_in]), [["kz.test", 8443, true]]);
  // the browser refused a banned root; whether it is installed here is unknown: the browser protected you
  assert.equal(badge.text, "✕");
  assert.equal(badge.icon[16], "/icons/toolbar/refused-16.png");
  assert.deepEqual(badge.title.split("\n"), ["RootSentinel: Firefox refused the certificate", "The browser protected you",
    "Firefox refused the certificate of kz.test: it comes from the banned root “Qaznet Trust Network”, which Firefox does not trust. Someone on this network tried to intercept the connection; Firefox protected you."]);
  const main = sentinel.tabs.get(7).main;
  assert.equal(main.level, "browser-blocked");
  assert.equal(main.probe.level, "banned");
  assert.equal(main.probe.names.root, "Qaznet Trust Network");
  // the scan found it nowhere: "not installed on this computer"
  installedIn = [];
  sentinel.cache.clear();
  badge = await refuse("e3");
  assert.equal(badge.text, "✕");
  assert.match(badge.title, /which is not installed on this computer/);
  // installed here (the helper's scan found it): a root installed on this computer intercepts, shown as banned
  installedIn = [{ store: "anchors", location: "/usr/local/share/ca-certificates/qaznet.crt", remove: "sudo rm /usr/local/share/ca-certificates/qaznet.crt && sudo update-ca-certificates --fresh" }];
  badge = await refuse("e4");
  assert.equal(badge.text, "!!");
  assert.equal(badge.color, "#b00020");
  assert.equal(badge.icon[16], "/icons/toolbar/banned-16.png");
  assert.deepEqual(badge.title.split("\n").slice(0, 2), ["RootSentinel: BANNED root, connection intercepted", "Government interception, installed on this computer"]);
  assert.match(badge.title, /is installed on this computer: programs that trust it can be intercepted/);
});

test("Firefox: a browser-blocked page's probe follows the request's route (ip, proxyInfo)", async () => {
  const probes = [];
  const host = (msg) => {
    if (msg.type === "hello") return hello(msg);
    if (msg.type === "probe") {
      probes.push(msg);
      return { ...verdict({ ...msg, url: msg.url }, "interception"), evidence: "probe" };
    }
    return undefined;
  };
  const { browser } = await boot({ host });
  const error = "Peer’s Certificate issuer is not recognized.";
  browser.webRequest.onErrorOccurred.fire({ requestId: "r1", tabId: 7, url: "https://intra.test/", type: "main_frame", error,
    ip: "10.1.2.3", proxyInfo: { type: "socks", host: "10.1.2.3", port: 1080, username: "", proxyDNS: true, failoverTimeout: 1 } });
  browser.webRequest.onErrorOccurred.fire({ requestId: "r2", tabId: 8, url: "https://other.test/", type: "main_frame", error,
    ip: "2001:db8::5" });
  await settle();
  assert.deepEqual(probes.map((m) => m.route), [
    { address: "10.1.2.3", proxy: { mode: "fixed_servers", scheme: "socks5", host: "10.1.2.3", port: 1080 } },
    { address: "2001:db8::5", proxy: { mode: "direct" } },
  ]);
});

test("isSecurityError separates NSS messages from network error names", () => {
  assert.equal(isSecurityError("Peer’s Certificate issuer is not recognized."), true);
  assert.equal(isSecurityError("Сертификат узла выпущен неизвестным издателем."), true);
  assert.equal(isSecurityError("NS_ERROR_CONNECTION_REFUSED"), false);
  assert.equal(isSecurityError("NS_BINDING_ABORTED"), false);
  assert.equal(isSecurityError(""), false);
  assert.equal(isSecurityError(undefined), false);
});

test("certificates the host already judged are sent without raw DER; new ones with it", async () => {
  const { browser } = await boot({ host: hostByLeaf({ [LEAF_B]: "interception" }) });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  respond(browser, { url: "https://b.test/x.js", type: "script", leaf: LEAF_B });
  await settle();
  const [first, second] = checks(browser);
  assert.deepEqual(first.securityInfo.certificates.map((c) => "rawDER" in c), [true, true]);
  // same root (fingerprint abab...) under a new leaf: only the leaf's DER travels
  assert.deepEqual(second.securityInfo.certificates.map((c) => "rawDER" in c), [true, false]);
  assert.equal(second.securityInfo.certificates[1].fingerprint.sha256.slice(0, 5), "AB:AB");
});

test("roots the person acknowledged go into hello; a change reconnects with the new list and forgets cached verdicts", async () => {
  const a = "ab".repeat(32);
  const b = "cd".repeat(32);
  const { browser, sentinel } = await boot({ host: hostByLeaf({}), local: { acknowledged: [{ spki_sha256: a, name: "mkcert", added: 1 }] } });
  const hellos = () => browser.native.sent.filter((m) => m.type === "hello");
  assert.deepEqual(hellos().map((m) => m.acknowledged_spki_sha256), [[a]]);
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  assert.equal(checks(browser).length, 1);
  await browser.storage.local.set({ acknowledged: [{ spki_sha256: a, name: "mkcert", added: 1 }, { spki_sha256: b, name: "proxy", added: 2 }] });
  await settle();
  assert.deepEqual(hellos().map((m) => m.acknowledged_spki_sha256), [[a], [a, b]]);
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  assert.equal(checks(browser).length, 2, "the cached verdict was made without the new list: asked again");
  assert.deepEqual(sentinel.settings.acknowledged, [a, b]);
});

test("managed allow_user_acknowledge: false sends no acknowledged roots", async () => {
  const { browser } = await boot({ host: hostByLeaf({}), managed: { allow_user_acknowledge: false },
    local: { acknowledged: [{ spki_sha256: "ab".repeat(32), name: "x", added: 1 }] } });
  const [first] = browser.native.sent.filter((m) => m.type === "hello");
  assert.equal("acknowledged_spki_sha256" in first, false);
});

test("mode enforce in the host's system config (hello reply settings) blocks the first banned page (issue 23 item 4)", async () => {
  const levels = { [LEAF_C]: "banned" };
  const host = (msg) => (msg.type === "hello" ? { ...hello(msg), settings: { mode: "enforce", probing: true, audit: false } }
    : hostByLeaf(levels)(msg));
  const browser = fakeBrowser({ host });
  const sentinel = startBackground(browser, registerCapture);
  // the very first page, before the hello reply is in: held until its verdict, then judged under the config
  const held = respond(browser, { url: "https://bad.test/", type: "main_frame", leaf: LEAF_C, tabId: 9 });
  assert.ok(held instanceof Promise);
  assert.deepEqual(await held, { redirectUrl: "moz-extension://test-uuid/blocked/blocked.html?tab=9" });
  assert.equal(sentinel.settings.mode, "enforce");
  assert.ok(sentinel.settings.locked.includes("mode"));
});
