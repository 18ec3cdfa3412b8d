/**
 * The Chromium capture adapter (extension/src/chromium/) with the shared core, against a fake
 * `chrome` API and a fake host: probe cache and TTL, debugger mode, securityInfo feature detection,
 * error mapping, no evidence -> unknown, and a service-worker restart.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startBackground } from "../../extension/src/core/background.js";
import { blockedError, explainMore, explainRoute } from "../../extension/src/core/explain.js";
import { bypassed, chromiumProxyFor, routeKey } from "../../extension/src/core/route.js";
import { translator, variantsFor } from "../../extension/src/core/i18n.js";
import {
  SECURITY_INFO_MISSES, combineLeafAndProbe, derToBase64, isCertificateError, leafOf, registerCapture,
} from "../../extension/src/chromium/capture.js";
import { DebuggerCapture } from "../../extension/src/chromium/debugger.js";
import { PROBE_TTL_MS, TtlCache } from "../../extension/src/chromium/probecache.js";
import { PERSIST_DELAY_MS } from "../../extension/src/core/tabstate.js";
import { settle, verdict } from "./fake-browser.mjs";
import { b64, fakeChrome, fakeDebugger } from "./fake-chrome.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Long enough for a response's evidence to be judged (the proxy settings read, the fake host's reply). */
const LEAF_PROBE_WAIT_MS = 20;

function hello(msg) {
  return { type: "hello", id: msg.id, version: "0.1.0", protocol: 1, blocklist: { version: "t", size: 1, sha256: "00" } };
}

/** A host whose probes and checks answer by host name: `levels[hostname]`, default ok. */
function hostByName(levels = {}, { chainOf } = {}) {
  return (msg) => {
    if (msg.type === "hello") return hello(msg);
    const host = msg.type === "probe" ? msg.host : new URL(msg.url).hostname;
    const url = msg.url ?? `https://${host}/`;
    const level = levels[host] ?? "ok";
    const evidence = msg.type === "probe" ? "probe" : "chain";
    const chain = chainOf?.(msg) ?? [{ index: 0, role: "leaf", cert_sha256: "11".repeat(32), subject: "CN=leaf", issuer: "CN=Issuing CA" },
      { index: 1, role: "intermediate", cert_sha256: "22".repeat(32), subject: "CN=Issuing CA", issuer: `CN=${host} root` }];
    return verdict({ ...msg, url }, level, { root: `${host} root`, evidence, chain,
      probe: msg.type === "probe" ? { host, port: msg.port, sni: host, elapsed_ms: 1, error: null } : null });
  };
}

let nextRequest = 1;
/** One response as Chromium reports it: onHeadersReceived, then onResponseStarted with `ip` (null: none). */
function respond(chrome, { tabId = 7, url, type = "main_frame", requestId, fromCache = false, ip = "192.0.2.7", commit = true }) {
  const id = String(requestId ?? nextRequest++);
  const details = { requestId: id, tabId, url, type, fromCache, frameId: type === "main_frame" ? 0 : 3 };
  const out = chrome.webRequest.onHeadersReceived.fire(details);
  chrome.webRequest.onResponseStarted.fire(ip === null ? details : { ...details, ip });
  if (type === "main_frame" && commit) chrome.webNavigation.onCommitted.fire({ tabId, frameId: 0, url, frameType: "outermost_frame", documentLifecycle: "active" });
  return out;
}

const sent = (chrome, type) => chrome.native.sent.filter((m) => m.type === type);

/** Starts the worker; `captureOpts(chrome)` gives registerCapture's injectable parts. */
async function boot(opts = {}, captureOpts = () => ({}), bgOpts = {}) {
  const chrome = fakeChrome(opts);
  let capture = null;
  const sentinel = startBackground(chrome, (api, s) => { capture = registerCapture(api, s, captureOpts(api)); }, { client: "chromium", ...bgOpts });
  await settle();
  return { chrome, sentinel, capture };
}

test("hello names the Chromium client; the badge never passes title null to Chromium", async () => {
  const { chrome, sentinel } = await boot({ host: hostByName() });
  assert.equal(sent(chrome, "hello")[0].client, "chromium/0.1.0");
  await sentinel.applyBadge(99); // no state: Chromium throws on {title: null}; the default title is set instead
  assert.equal(chrome.badges.get(99).title, "RootSentinel");
  assert.equal(chrome.badges.get(99).text, "");
});

test("probe mode: one probe per origin (host, port) for a page and its subresources, again after the TTL", async () => {
  let now = 1_000_000;
  const probes = new TtlCache({ now: () => now });
  const { chrome, sentinel } = await boot({ host: hostByName({ "mitm.test": "interception" }) }, () => ({ probeCache: probes }));
  respond(chrome, { url: "https://a.test/" });
  for (let i = 0; i < 10; i += 1) respond(chrome, { url: `https://a.test/img${i}.png`, type: "image" });
  respond(chrome, { url: "https://a.test:8443/api", type: "xmlhttprequest" });
  respond(chrome, { url: "https://mitm.test/lib.js", type: "script" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  assert.deepEqual(sent(chrome, "probe").map((m) => [m.host, m.port]), [["a.test", 443], ["a.test", 8443], ["mitm.test", 443]]);
  assert.equal(sent(chrome, "probe")[0].url, "https://a.test/");
  assert.equal(sent(chrome, "check").length, 0);
  const state = sentinel.tabs.get(7);
  assert.equal(state.level, "interception");
  assert.equal(state.main.source, "probe");
  assert.equal(chrome.badges.get(7).text, "!");

  now += PROBE_TTL_MS - 1;
  respond(chrome, { url: "https://a.test/again" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(sent(chrome, "probe").length, 3, "within the TTL the verdict is reused");
  assert.equal(sentinel.tabs.get(7).main.cached, true);
  now += 2;
  respond(chrome, { url: "https://a.test/later" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(sent(chrome, "probe").length, 4, "after the TTL the origin is probed again");
});

test("a failed probe is unknown (never ok) and is retried after the short failure TTL", async () => {
  let now = 0;
  const probes = new TtlCache({ now: () => now });
  const host = (msg) => (msg.type === "hello" ? hello(msg) : {
    ...verdict({ ...msg, url: msg.url }, "unknown"), reason: "probe_failed", evidence: "probe",
    probe: { host: msg.host, port: msg.port, sni: msg.host, elapsed_ms: 0, error: "connection refused" } });
  const { chrome, sentinel } = await boot({ host }, () => ({ probeCache: probes }));
  respond(chrome, { url: "https://down.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(sentinel.tabs.get(7).level, "unknown");
  assert.equal(chrome.badges.get(7).text, "?");
  respond(chrome, { url: "https://down.test/x" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(sent(chrome, "probe").length, 1);
  now += 31_000;
  respond(chrome, { url: "https://down.test/y" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(sent(chrome, "probe").length, 2);
});

test("no host: an https page is unknown with the Chromium install hint, never ok", async () => {
  const { chrome, sentinel } = await boot({ host: null });
  respond(chrome, { url: "https://a.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle(10);
  assert.equal(chrome.badges.get(7).text, "?");
  assert.equal(sentinel.tabs.get(7).main.error.code, "host_unreachable");
  const t = translator(chrome.i18n, { help_host_unreachable: "help_host_unreachable_chromium" });
  assert.match(explainMore(t, sentinel.tabs.get(7).main).join(" "), /install --browser chrome/);
  // a page committed without any response we saw (a service worker fetched it): its probe cannot be asked
  chrome.webNavigation.onCommitted.fire({ tabId: 8, frameId: 0, url: "https://sw.test/" });
  await settle();
  assert.equal(chrome.badges.get(8).text, "?");
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle(10);
  assert.equal(chrome.badges.get(8).text, "?");
  assert.match(chrome.badges.get(8).title, /no evidence about its certificate arrived/);
});

test("a page committed without a response of its own (a service worker fetched it) is judged by its origin's probe (issue 22 item 3)", async () => {
  const { chrome, sentinel } = await boot({ host: hostByName({ "sw.test": "banned" }) });
  respond(chrome, { tabId: 8, url: "https://ok.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(sentinel.tabs.get(8).level, "ok");
  // the worker's own fetch is reported with tabId -1 and is not the tab's; the tab only commits
  respond(chrome, { tabId: -1, url: "https://sw.test/", type: "xmlhttprequest" });
  chrome.webNavigation.onCommitted.fire({ tabId: 8, frameId: 0, url: "https://sw.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  const state = sentinel.tabs.get(8);
  assert.equal(state.url, "https://sw.test/");
  assert.equal(state.level, "banned");
  assert.equal(state.main.source, "probe");
  assert.equal(chrome.badges.get(8).text, "!!");
  assert.deepEqual(sent(chrome, "probe").map((m) => m.host), ["ok.test", "sw.test"]);
  // a page the tab left before its probe answered keeps nothing of it
  const slow = hostByName({ "late.test": "banned" });
  let release;
  chrome.native.host = (msg) => (msg.type === "probe" && msg.host === "late.test"
    ? new Promise((r) => { release = () => r(slow(msg)); }) : slow(msg));
  chrome.webNavigation.onCommitted.fire({ tabId: 8, frameId: 0, url: "https://late.test/" });
  await sleep(LEAF_PROBE_WAIT_MS);
  respond(chrome, { tabId: 8, url: "https://ok.test/next" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  release?.();
  await sleep(LEAF_PROBE_WAIT_MS);
  await settle();
  assert.equal(sentinel.tabs.get(8).url, "https://ok.test/next");
  assert.equal(sentinel.tabs.get(8).level, "ok");
});

test("a page committed without its own response is never made to look better by the probe's separate connection", async () => {
  // a back/forward restore of a page its own connection showed banned, while the probe's connection is clean
  const levels = { "a.test": "banned" };
  const host = hostByName(levels);
  const { chrome, sentinel } = await boot({ host: (msg) => host(msg) });
  respond(chrome, { url: "https://a.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(chrome.badges.get(7).text, "!!");
  respond(chrome, { url: "https://b.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  levels["a.test"] = "ok";
  chrome.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://a.test/", transitionQualifiers: ["forward_back"] });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  assert.equal(sentinel.tabs.get(7).url, "https://a.test/");
  assert.equal(sentinel.tabs.get(7).level, "unknown", "not checked: neither the old verdict nor the probe's ok");
  assert.equal(chrome.badges.get(7).text, "?");
  assert.equal(sentinel.tabs.get(7).main.error.code, "no_security_info");
});

test("a site whose access is withheld from the extension is never probed for a page without its own response", async () => {
  const { chrome, sentinel } = await boot({ host: hostByName({ "private.test": "banned" }) });
  chrome.withheld.add("https://private.test");
  chrome.webNavigation.onCommitted.fire({ tabId: 9, frameId: 0, url: "https://private.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  assert.deepEqual(sent(chrome, "probe").map((m) => m.host), []);
  assert.equal(chrome.badges.get(9).text, "?");
  chrome.withheld.clear();
  chrome.webNavigation.onCommitted.fire({ tabId: 9, frameId: 0, url: "https://private.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  assert.deepEqual(sent(chrome, "probe").map((m) => m.host), ["private.test"]);
  assert.equal(chrome.badges.get(9).text, "!!");
});

test("debugger mode: attaches to new tabs with Network enabled and judges the chain the browser verified", async () => {
  const dbg = fakeDebugger({ certificates: new Map([["https://a.test", [b64("leaf"), b64("inter"), b64("root")]]]), emptyTries: 2 });
  const { chrome, sentinel, capture } = await boot(
    { host: hostByName({ "a.test": "interception" }), debugger: dbg, local: { capture: "debugger" }, tabs: [{ id: 3, url: "https://open.test/" }] },
    (api) => ({ debuggerCapture: new DebuggerCapture(api, { retryMs: 1 }) }),
  );
  await settle(10);
  assert.equal(capture.dbg.active, true);
  assert.deepEqual([...dbg.attached], [3], "already open tabs are attached when the mode is on");
  chrome.tabs.onCreated.fire({ id: 7 });
  await settle();
  assert.deepEqual(dbg.commands.filter((c) => c.tabId === 7).map((c) => c.method), ["attach", "Network.enable"]);
  assert.equal(dbg.commands.find((c) => c.method === "attach").version, "1.3");

  respond(chrome, { url: "https://a.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  const [check] = sent(chrome, "check");
  assert.deepEqual(check.chain, [b64("leaf"), b64("inter"), b64("root")]);
  assert.equal(check.url, "https://a.test/");
  assert.equal(sent(chrome, "probe").length, 0);
  assert.equal(dbg.commands.filter((c) => c.method === "Network.getCertificate").length, 3, "retried while the response was arriving");
  assert.deepEqual(dbg.commands.find((c) => c.method === "Network.getCertificate").params, { origin: "https://a.test" });
  assert.equal(sentinel.tabs.get(7).main.source, "debugger");
  assert.equal(chrome.badges.get(7).text, "!");

  // the user cancels Chrome's "debugging this browser" bar: that tab falls back to the probe
  dbg.cancel(7);
  respond(chrome, { url: "https://b.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(sent(chrome, "probe").length, 1);
  assert.equal(sentinel.tabs.get(7).main.source, "probe");

  // switching back to probe mode detaches everywhere
  await chrome.storage.local.set({ capture: "probe" });
  await settle(10);
  assert.equal(dbg.attached.size, 0);
});

test("debugger mode without the debugger API (the default build) and an origin with no certificate use the probe", async () => {
  const { chrome, sentinel, capture } = await boot({ host: hostByName(), local: { capture: "debugger" } });
  assert.equal(capture.dbg.available(), false);
  chrome.tabs.onCreated.fire({ id: 7 });
  respond(chrome, { url: "https://a.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  assert.equal(sent(chrome, "probe").length, 1);
  assert.equal(sentinel.tabs.get(7).main.source, "probe");

  const dbg = fakeDebugger();
  const withApi = await boot({ host: hostByName(), debugger: dbg, local: { capture: "debugger" } },
    (api) => ({ debuggerCapture: new DebuggerCapture(api, { attempts: 2, retryMs: 1 }) }));
  await settle(10);
  withApi.chrome.tabs.onCreated.fire({ id: 7 });
  await settle();
  respond(withApi.chrome, { url: "https://nocert.test/" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  assert.equal(sent(withApi.chrome, "probe").length, 1, "no certificate from the debugger: probe");
});

test("securityInfo: where the browser sends the leaf, the host judges it and probes the origin", async () => {
  const leafDer = [48, 130, 1, 10, 2, 3];
  const leafHex = "ab".repeat(32);
  const chainOf = (msg) => [{ index: 0, role: "leaf", cert_sha256: leafHex, subject: "CN=a.test", issuer: "CN=Issuing CA" },
    ...(msg.type === "probe" ? [{ index: 1, role: "intermediate", cert_sha256: "cd".repeat(32), subject: "CN=Issuing CA", issuer: "CN=Root" }] : [])];
  const { chrome, sentinel, capture } = await boot({ host: hostByName({ "a.test": "interception" }, { chainOf }), securityInfo: "supported" });
  assert.equal(capture.securityInfoSpec, "securityInfoRawDer");
  chrome.leafInfos.set("si1", { state: "secure", certificates: [{ fingerprint: { sha256: leafHex.toUpperCase().match(/../g).join(":") }, rawDER: new Uint8Array(leafDer).buffer }] });
  respond(chrome, { url: "https://a.test/", requestId: "si1" });
  await settle(10);
  const [check] = sent(chrome, "check");
  assert.deepEqual(check.chain, [Buffer.from(leafDer).toString("base64")]);
  assert.deepEqual(sent(chrome, "probe").map((m) => [m.host, m.port]), [["a.test", 443]]);
  const main = sentinel.tabs.get(7).main;
  assert.equal(main.source, "security-info");
  assert.equal(main.level, "interception");
  assert.equal(main.verdict.leaf_matches_probe, true);
  assert.equal(main.verdict.evidence, "probe", "the probe's chain (with the intermediate) is the one shown");
});

test("securityInfo feature detection: a browser that throws, calls without it or never calls still gets probes", async () => {
  for (const mode of ["throws", "silent", "without"]) {
    const { chrome, sentinel, capture } = await boot({ host: hostByName(), securityInfo: mode });
    assert.equal(capture.securityInfoSpec, mode === "throws" ? null : "securityInfoRawDer", mode);
    respond(chrome, { url: "https://a.test/" });
    await sleep(LEAF_PROBE_WAIT_MS + 30);
    await settle();
    assert.equal(sent(chrome, "probe").length, 1, mode);
    assert.equal(sent(chrome, "check").length, 0, mode);
    assert.equal(sentinel.tabs.get(7).main.source, "probe", mode);
    assert.equal(sentinel.tabs.get(7).level, "ok", mode);
    if (mode === "without") {
      // Chromium 156 without its flag: the listener is called for every response without securityInfo;
      // after SECURITY_INFO_MISSES of them it is removed, and only the one listener per response is left.
      for (let i = 1; i < SECURITY_INFO_MISSES; i += 1) respond(chrome, { url: `https://a.test/${i}.png`, type: "image" });
      assert.equal(capture.securityInfoSpec, null);
      const before = chrome.webRequest.onHeadersReceived.calls + chrome.webRequest.onResponseStarted.calls;
      respond(chrome, { url: "https://a.test/more.png", type: "image" });
      assert.equal(chrome.webRequest.onHeadersReceived.calls + chrome.webRequest.onResponseStarted.calls - before, 1);
    }
  }
});

test("combineLeafAndProbe: banned leaf wins; same leaf, or an issuer matched by key -> the probe; a name alone never (issue 22 item 7)", () => {
  const probe = { type: "verdict", level: "ok", evidence: "probe", probe: { host: "a" },
    chain: [{ cert_sha256: "p1", subject: "CN=a", issuer: "CN=CA", aki: "AA:01" }, { cert_sha256: "p2", subject: "CN=CA", issuer: "CN=Root", ski: "aa01", aki: "bb" }] };
  const leaf = (level, issuer = "CN=CA", sha = "b1", aki = "aa01") => ({ type: "verdict", level, evidence: "chain",
    chain: [{ cert_sha256: sha, subject: "CN=a", issuer, aki }] });
  assert.equal(combineLeafAndProbe(leaf("banned"), probe).level, "banned");
  assert.equal(combineLeafAndProbe(leaf("banned"), probe).probe.host, "a");
  assert.equal(combineLeafAndProbe(leaf("unknown", "CN=CA", "p1"), probe).leaf_matches_probe, true);
  assert.equal(combineLeafAndProbe(leaf("unknown", "CN=CA", "p1"), probe).level, "ok");
  // a rotated leaf from the probe's issuer, by key: the probe's verdict
  const rotated = combineLeafAndProbe(leaf("unknown", "CN=CA", "b2"), probe);
  assert.deepEqual([rotated.level, rotated.leaf_matches_probe, rotated.issuer_match], ["ok", false, "key"]);
  // an interceptor naming its CA like the site's issuer, with its own key: interception, not the probe's ok
  const imitation = combineLeafAndProbe(leaf("unknown", "CN=CA", "b4", "ee:ff"), probe);
  assert.deepEqual([imitation.level, imitation.reason, imitation.issuer_match, imitation.evidence], ["interception", "imitated_issuer", "imitation", "chain"]);
  // the name alone (no authority key id to compare) proves nothing: the leaf's own verdict
  const named = combineLeafAndProbe(leaf("unknown", "CN=CA", "b5", null), probe);
  assert.deepEqual([named.level, named.issuer_match], ["unknown", "name_only"]);
  // the host judged the browser's leaf itself (e.g. an imitated public issuer): that verdict
  assert.equal(combineLeafAndProbe(leaf("interception", "CN=CA", "b6"), probe).level, "interception");
  assert.equal(combineLeafAndProbe(leaf("ok", "CN=Other", "b7"), probe).level, "ok");
  const elsewhere = combineLeafAndProbe(leaf("interception", "CN=Corp Proxy", "b3"), probe);
  assert.deepEqual([elsewhere.level, elsewhere.leaf_matches_probe, elsewhere.evidence], ["interception", false, "chain"]);
  const unseen = combineLeafAndProbe(leaf("unknown", "CN=Corp Proxy", "b8"), probe);
  assert.deepEqual([unseen.level, unseen.issuer_match], ["unknown", "none"]);
  // the host's lone-leaf verdict whose issuer it did not have (its issuer taken as anchor) is no evidence
  // by itself: a rotated leaf from the probe's issuer by key is the probe's, another key an imitation
  const anchoredInIssuer = (aki) => ({ ...leaf("interception", "CN=CA", "b9", aki), reason: "non_public_anchor", path: { outcome: "unknown_issuer" } });
  assert.deepEqual([combineLeafAndProbe(anchoredInIssuer("aa01"), probe).level, combineLeafAndProbe(anchoredInIssuer("aa01"), probe).issuer_match], ["ok", "key"]);
  assert.equal(combineLeafAndProbe(anchoredInIssuer("0bad"), probe).reason, "imitated_issuer");
  const failed = { type: "verdict", level: "unknown", reason: "probe_failed", chain: [], probe: { error: "refused" } };
  assert.equal(combineLeafAndProbe(leaf("ok"), failed).level, "ok");
  assert.equal(combineLeafAndProbe(leaf("unknown"), failed).reason, "probe_failed");
  assert.equal(combineLeafAndProbe(null, null), null);
});

test("leafOf and derToBase64 take bytes in every shape and ignore details without a leaf", () => {
  const bytes = [48, 130, 0, 1];
  const want = Buffer.from(bytes).toString("base64");
  for (const raw of [bytes, new Uint8Array(bytes), new Uint8Array(bytes).buffer, want]) assert.equal(derToBase64(raw), want);
  assert.equal(derToBase64([]), null);
  assert.equal(derToBase64([300]), null);
  assert.equal(derToBase64("not base64!"), null);
  assert.equal(leafOf({}), null);
  assert.equal(leafOf({ securityInfo: { state: "insecure" } }), null);
  assert.deepEqual(leafOf({ securityInfo: { certificates: [{ rawDER: bytes, fingerprint: { sha256: "AB:CD" } }] } }), { der: want, sha256: "abcd" });
});

test("net::ERR_CERT_* on a main frame is browser-blocked, explained by a probe; known interception is said so", async () => {
  const host = (msg) => {
    if (msg.type === "hello") return hello(msg);
    if (msg.type === "probe") {
      return { ...verdict({ ...msg, url: "https://kz.test/" }, "banned", { root: "Information Security Certification Authority" }),
        category: "state-mitm", evidence: "probe" };
    }
    return undefined;
  };
  const { chrome, sentinel } = await boot({ host });
  const fire = (error, type = "main_frame", tabId = 7) => chrome.webRequest.onErrorOccurred.fire({ requestId: `e${nextRequest++}`, tabId, url: "https://kz.test/", type, error });
  fire("net::ERR_CONNECTION_REFUSED");
  fire("net::ERR_CERT_AUTHORITY_INVALID", "image");
  await settle();
  assert.equal(sentinel.tabs.get(7), null, "network errors and subresource errors are not browser-blocked pages");
  fire("net::ERR_CERT_KNOWN_INTERCEPTION_BLOCKED");
  await settle(10);
  const main = sentinel.tabs.get(7).main;
  assert.equal(main.level, "browser-blocked");
  assert.equal(main.probe.level, "banned");
  assert.equal(main.probe.source, "probe");
  assert.equal(chrome.badges.get(7).text, "✕");
  assert.match(chrome.badges.get(7).title, /^RootSentinel: the browser refused the certificate\nThe browser protected you\nThe browser refused the certificate of kz\.test: it comes from the banned root “Information Security Certification Authority”, which the browser does not trust/);
  const t = translator(chrome.i18n, variantsFor(chrome.runtime.getManifest()));
  const more = explainMore(t, main).join(" ");
  assert.match(more, /The browser itself recognised this certificate as a known interception certificate/);
  assert.equal(blockedError(t, main), "The browser's error: net::ERR_CERT_KNOWN_INTERCEPTION_BLOCKED");
  assert.ok(isCertificateError("net::ERR_CERT_DATE_INVALID"));
  assert.ok(isCertificateError("net::ERR_SSL_PINNED_KEY_NOT_IN_CERT_CHAIN"));
  assert.ok(!isCertificateError("net::ERR_SSL_PROTOCOL_ERROR"));
  assert.ok(!isCertificateError(undefined));
});

test("a service-worker restart restores the tab verdicts from storage.session and re-applies them on update", async () => {
  const first = await boot({ host: hostByName({ "a.test": "interception" }) });
  respond(first.chrome, { url: "https://a.test/page" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  assert.equal(first.chrome.badges.get(7).text, "!");

  await sleep(PERSIST_DELAY_MS + 20); // the coalesced write
  const session = await first.chrome.storage.session.get(null);
  const second = await boot({ host: hostByName() , session });
  second.chrome.tabs.onUpdated.fire(7, { status: "complete" }, { id: 7 });
  await settle();
  assert.equal(second.chrome.badges.get(7).text, "!", "restored without asking the host");
  assert.equal(sent(second.chrome, "probe").length, 0);
  assert.equal(sent(second.chrome, "check").length, 0);
});

test("enforce mode replaces a banned main frame with the explanation page once judged", async () => {
  const { chrome } = await boot({ host: hostByName({ "bad.test": "banned" }), managed: { mode: "enforce" } });
  respond(chrome, { url: "https://bad.test/", tabId: 9 });
  respond(chrome, { url: "https://good.test/", tabId: 10 });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle(10);
  assert.deepEqual(chrome.updated, [{ tabId: 9, url: "chrome-extension://bnfgaaecgknnlipoadgbeaekapoomain/blocked/blocked.html?tab=9" }]);
  const saved = await chrome.storage.session.get("blocked:9");
  assert.equal(saved["blocked:9"].record.level, "banned");
  // reported to the host for the audit log, with the leaf the host judged
  assert.deepEqual(sent(chrome, "blocked").map(({ url, cert_sha256 }) => ({ url, cert_sha256 })),
    [{ url: "https://bad.test/", cert_sha256: "11".repeat(32) }]);
});

const PROXY_3128 = { mode: "fixed_servers", rules: { singleProxy: { scheme: "http", host: "10.0.0.8", port: 3128 }, bypassList: ["*.intra.test"] } };

test("the probe carries the browser's route, and verdicts are kept per (host, port, address, proxy)", async () => {
  const { chrome } = await boot({ host: hostByName(), proxy: PROXY_3128 });
  respond(chrome, { url: "https://a.test/", ip: "10.0.0.8" });
  respond(chrome, { url: "https://a.test/img.png", type: "image", ip: "10.0.0.8" });
  respond(chrome, { url: "https://wiki.intra.test/", tabId: 8, ip: "10.9.9.9" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  const routes = () => sent(chrome, "probe").map((m) => [m.host, m.route]);
  assert.deepEqual(routes(), [
    ["a.test", { address: "10.0.0.8", proxy: { mode: "fixed_servers", scheme: "http", host: "10.0.0.8", port: 3128 } }],
    ["wiki.intra.test", { address: "10.9.9.9", proxy: { mode: "fixed_servers" } }], // on the bypass list: direct
  ]);
  // another address for the same name (Secure DNS, a hosts-file entry): probed again
  respond(chrome, { url: "https://wiki.intra.test/x", tabId: 8, ip: "192.0.2.44" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  // the user turns the proxy off: the same host and address, another proxy: probed again
  chrome.proxySettings.set({ mode: "direct" });
  respond(chrome, { url: "https://a.test/2", ip: "10.0.0.8" });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  assert.deepEqual(routes().slice(2), [
    ["wiki.intra.test", { address: "192.0.2.44", proxy: { mode: "fixed_servers" } }],
    ["a.test", { address: "10.0.0.8", proxy: { mode: "direct" } }],
  ]);
  assert.ok(chrome.proxySettingsReads <= 2, "the settings are read again only after onChange");
});

test("the address is the one onResponseStarted reports; a response without one probes with none", async () => {
  const { chrome } = await boot({ host: hostByName(), proxy: { mode: "direct" } });
  respond(chrome, { url: "https://old.test/", ip: "198.51.100.3" });
  respond(chrome, { url: "https://none.test/", ip: null, tabId: 8 });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle();
  assert.deepEqual(sent(chrome, "probe").map((m) => [m.host, m.route]), [
    ["old.test", { address: "198.51.100.3", proxy: { mode: "direct" } }],
    ["none.test", { address: null, proxy: { mode: "direct" } }],
  ]);
});

test("a browser-blocked page's probe carries the route of its failed request", async () => {
  const { chrome } = await boot({ host: hostByName(), proxy: PROXY_3128 });
  chrome.webRequest.onErrorOccurred.fire({ requestId: "e-r", tabId: 7, url: "https://kz.test/", type: "main_frame",
    error: "net::ERR_CERT_AUTHORITY_INVALID", ip: "10.0.0.8" });
  await settle(10);
  assert.deepEqual(sent(chrome, "probe")[0].route,
    { address: "10.0.0.8", proxy: { mode: "fixed_servers", scheme: "http", host: "10.0.0.8", port: 3128 } });
});

test("Chromium's bypass rules and proxy rules, as chromiumProxyFor reads them", () => {
  assert.equal(bypassed("https://localhost:8443/", []), true, "loopback is bypassed implicitly");
  assert.equal(bypassed("https://127.0.0.2/", []), true);
  assert.equal(bypassed("https://[::1]/", []), true);
  assert.equal(bypassed("https://127.0.0.1/", ["<-loopback>"]), false, "<-loopback> proxies loopback too");
  assert.equal(bypassed("https://intranet/", ["<local>"]), true);
  assert.equal(bypassed("https://intranet.example/", ["<local>"]), false);
  assert.equal(bypassed("https://10.2.3.4/", ["10.0.0.0/8"]), true);
  assert.equal(bypassed("https://11.2.3.4/", ["10.0.0.0/8"]), false);
  assert.equal(bypassed("https://a.corp.test/", [".corp.test"]), true);
  assert.equal(bypassed("https://corp.test.evil/", ["*.corp.test"]), false);
  assert.equal(bypassed("https://a.test:8443/", ["a.test:443"]), false);
  assert.equal(bypassed("https://a.test/", ["https://a.test"]), true);
  assert.equal(bypassed("https://a.test/", ["http://a.test"]), false);
  const rules = { proxyForHttps: { scheme: "socks5", host: "s.test", port: 1080 }, proxyForHttp: { host: "h.test", port: 80 } };
  assert.deepEqual(chromiumProxyFor("https://x.test/", { mode: "fixed_servers", rules }), { mode: "fixed_servers", scheme: "socks5", host: "s.test", port: 1080 });
  assert.deepEqual(chromiumProxyFor("https://x.test/", { mode: "fixed_servers", rules: { fallbackProxy: { scheme: "https", host: "p.test" } } }),
    { mode: "fixed_servers", scheme: "https", host: "p.test", port: 443 });
  assert.deepEqual(chromiumProxyFor("https://x.test/", { mode: "pac_script", pacScript: { url: "http://wpad/wpad.dat" } }), { mode: "pac_script" });
  assert.deepEqual(chromiumProxyFor("https://x.test/", undefined), { mode: "system" });
  assert.notEqual(routeKey({ address: "192.0.2.1", proxy: { mode: "direct" } }), routeKey({ address: "192.0.2.1", proxy: { mode: "system" } }));
});

test("the popup's route sentences: through the proxy, the browser's address, or what the helper could not know", () => {
  const t = translator(fakeChrome().i18n);
  const rec = (route) => ({ level: "interception", verdict: { probe: { host: "a.test", port: 443, route } } });
  const base = { address: null, proxy: null, proxy_mode: null, proxy_known: true, from_browser: true, connected: null, problem: null };
  assert.deepEqual(explainRoute(t, rec({ ...base, proxy: "http://127.0.0.1:8080", proxy_mode: "fixed_servers", connected: "127.0.0.1:8080" })),
    ["Route: the helper's connection went through the proxy http://127.0.0.1:8080, as the browser's does."]);
  assert.deepEqual(explainRoute(t, rec({ ...base, address: "127.0.0.2", proxy_mode: "system", proxy_known: false, connected: "127.0.0.2:8443" })), [
    "Route: the helper connected to 127.0.0.2:8443, the address the browser connected to for this page.",
    "The browser follows the system's proxy settings, which it does not show to extensions; if they name a proxy, the helper's connection did not use it, and what it saw may differ.",
  ]);
  assert.match(explainRoute(t, rec({ ...base, proxy_mode: "pac_script", proxy_known: false, connected: "a.test:443" })).join(" "),
    /^Route: the helper looked the name up itself and connected to a\.test:443 directly; .* with a PAC script/);
  assert.match(explainRoute(t, rec({ ...base, proxy: "http://10.0.0.8:3128", problem: "proxy_auth_required" })).join(" "),
    /^The proxy asks for a user name and password\. RootSentinel does not handle proxy credentials/);
  assert.deepEqual(explainRoute(t, { level: "interception", verdict: { probe: null } }), []);
  // browser-blocked: the route is the probe's
  assert.equal(explainRoute(t, { level: "browser-blocked", probe: { verdict: { probe: { route: { ...base, address: "::1", connected: "[::1]:443" } } } } }).length, 1);
});

/** A host that answers hello with `settings` and bans the roots the hello policy bans (by host name here). */
function policyHost(levels = {}, settings = undefined) {
  let policy = null;
  const inner = hostByName(levels);
  return (msg) => {
    if (msg.type === "hello") {
      policy = msg.policy ?? null;
      return { ...hello(msg), ...(settings ? { settings } : {}) };
    }
    const host = msg.type === "probe" ? msg.host : new URL(msg.url).hostname;
    const banned = (policy?.banned ?? []).some((b) => b.reason === host);
    return banned ? hostByName({ [host]: "banned" })(msg) : inner(msg);
  };
}

test("probing: false in managed storage: the Chromium extension asks for no probe; the page is unknown, said why", async () => {
  const { chrome } = await boot({ host: hostByName(), managed: { probing: false } });
  assert.deepEqual(sent(chrome, "hello")[0].policy, { probing: false });
  respond(chrome, { url: "https://a.test/", tabId: 4 });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle(10);
  assert.deepEqual(sent(chrome, "probe"), []);
  assert.equal(chrome.badges.get(4).text, "?");
  assert.match(chrome.badges.get(4).title, /policy/i);
});

test("probing: false in the host's system config (hello reply settings) stops probes too", async () => {
  const { chrome, sentinel } = await boot({ host: policyHost({}, { probing: false, audit: false, mode: "enforce" }) });
  await settle(10);
  assert.deepEqual([sentinel.settings.probing, sentinel.settings.mode], [false, "enforce"]);
  respond(chrome, { url: "https://a.test/", tabId: 4 });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle(10);
  assert.deepEqual(sent(chrome, "probe"), []);
});

test("a fresh Chromium: judging waits (bounded) for managed storage; a verdict given before the policy does not outlive it", async () => {
  const BAN = { banned: [{ spki_sha256: "ab".repeat(32), reason: "bad.test" }], mode: "enforce" };
  // 1. the policy arrives while the first page waits: the page is judged under it, and blocked
  let r = await boot({ host: policyHost(), managed: {}, tabs: [{ id: 9, url: "https://bad.test/" }] }, () => ({}), { managedWaitMs: 5000 });
  respond(r.chrome, { url: "https://bad.test/", tabId: 9 });
  await sleep(50);
  assert.deepEqual(sent(r.chrome, "probe"), [], "no probe before the managed settings are known");
  r.chrome.setManaged(BAN);
  await sleep(LEAF_PROBE_WAIT_MS + 50);
  await settle(20);
  assert.equal(r.chrome.badges.get(9).text, "!!");
  assert.equal(r.chrome.updated.at(-1)?.tabId, 9, "enforce mode replaced the banned page");
  // 2. without a wait (the bound passed): judged ok first; when the policy arrives the probe cache is dropped
  //    and the open tab judged again, then blocked
  r = await boot({ host: policyHost(), managed: {}, tabs: [{ id: 9, url: "https://bad.test/" }] });
  respond(r.chrome, { url: "https://bad.test/", tabId: 9 });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle(10);
  assert.equal(r.chrome.badges.get(9).text, "");
  const probesBefore = sent(r.chrome, "probe").length;
  r.chrome.setManaged(BAN);
  await sleep(50);
  await settle(20);
  assert.equal(sent(r.chrome, "probe").length, probesBefore + 1, "probed again, not answered from the cache");
  assert.equal(r.chrome.badges.get(9).text, "!!");
  assert.deepEqual(r.chrome.updated.map((u) => u.tabId), [9]);
});

test("the bounded wait ends without a policy, and a restarted worker of the same session does not wait again", async () => {
  const r = await boot({ host: hostByName(), managed: {} }, () => ({}), { managedWaitMs: 150 });
  respond(r.chrome, { url: "https://a.test/", tabId: 3 });
  await sleep(50);
  assert.deepEqual(sent(r.chrome, "probe"), []);
  await sleep(150 + LEAF_PROBE_WAIT_MS + 30);
  await settle(10);
  assert.equal(sent(r.chrome, "probe").length, 1);
  assert.equal((await r.chrome.storage.session.get("policyKnown")).policyKnown, true);
});

test("a managed-storage event that changes nothing judges nothing again (Chromium fires one when its policy service starts)", async () => {
  const r = await boot({ host: hostByName(), managed: {}, tabs: [{ id: 9, url: "https://a.test/" }] });
  respond(r.chrome, { url: "https://a.test/", tabId: 9 });
  await sleep(LEAF_PROBE_WAIT_MS + 30);
  await settle(10);
  const probes = sent(r.chrome, "probe").length;
  r.chrome.setManaged({});
  await sleep(50);
  await settle(10);
  assert.equal(sent(r.chrome, "probe").length, probes);
  assert.equal(r.chrome.badges.get(9).text, "");
});
