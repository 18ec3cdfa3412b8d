/**
 * Which document a verdict belongs to (issue 22 items 2, 3, 10): the background core and the
 * Firefox adapter against the fake browser.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startBackground, isTopDocument } from "../../extension/src/core/background.js";
import { registerCapture } from "../../extension/src/firefox/capture.js";
import { freshState } from "../../extension/src/core/sentinel.js";
import { WorkerResponses, WORKER_RECLAIM_MS } from "../../extension/src/core/workers.js";
import { fakeBrowser, securityInfo, settle, verdict } from "./fake-browser.mjs";

const CLEAN = "a1".repeat(32);
const BANNED = "c3".repeat(32);

function host(msg) {
  if (msg.type === "hello") return { type: "hello", id: msg.id, version: "0.1.0", protocol: 1, blocklist: { version: "t", size: 1, sha256: "00" } };
  if (msg.type === "check") {
    const fp = msg.securityInfo.certificates[0].fingerprint.sha256.replace(/:/g, "").toLowerCase();
    return verdict(msg, fp === BANNED ? "banned" : "ok");
  }
  return undefined;
}

let n = 1;
function respond(browser, { tabId = 7, url, type = "image", leaf, extra = {} }) {
  const requestId = `q${n++}`;
  browser.securityInfos.set(requestId, securityInfo(leaf));
  browser.webRequest.onHeadersReceived.fire({ requestId, tabId, url, type, fromCache: false, frameId: type === "main_frame" ? 0 : 3, ...extra });
}
const commit = (browser, url, tabId = 7, extra = {}) => browser.webNavigation.onCommitted.fire({ tabId, frameId: 0, url, ...extra });

async function bannedTab() {
  const browser = fakeBrowser({ host });
  browser.webNavigation.onCreatedNavigationTarget = { addListener(fn) { browser.openedListener = fn; } };
  const sentinel = startBackground(browser, registerCapture);
  await settle();
  respond(browser, { url: "https://evil.test/", type: "main_frame", leaf: BANNED });
  commit(browser, "https://evil.test/");
  await settle();
  assert.equal(browser.badges.get(7).text, "!!");
  return { browser, sentinel };
}

test("a main-frame response that never commits (204, download) leaves the banned page's badge", async () => {
  const { browser, sentinel } = await bannedTab();
  respond(browser, { url: "https://clean.test/204", type: "main_frame", leaf: CLEAN });
  browser.webRequest.onHeadersReceived.fire({ requestId: "h", tabId: 7, url: "http://plain.test/file.bin", type: "main_frame", frameId: 0 });
  await settle();
  assert.equal(browser.badges.get(7).text, "!!");
  assert.equal(sentinel.tabs.get(7).url, "https://evil.test/");
  // a later subresource of the banned page still lands on it
  respond(browser, { url: "https://evil.test/x.png", leaf: BANNED, extra: { documentUrl: "https://evil.test/" } });
  await settle();
  assert.equal(sentinel.tabs.get(7).url, "https://evil.test/");
  // the response that does commit takes over, with the verdict judged before its commit
  respond(browser, { url: "https://clean.test/page", type: "main_frame", leaf: CLEAN });
  await settle();
  assert.equal(browser.badges.get(7).text, "!!");
  browser.badges.delete(7); // the browser clears the badge when the navigation commits
  commit(browser, "https://clean.test/page");
  await settle();
  assert.equal(sentinel.tabs.get(7).level, "ok");
  assert.match(browser.badges.get(7).title, /^RootSentinel: not intercepted/);
});

test("a subresource that races its page's commit goes to that page (documentUrl), not the one on screen", async () => {
  const { browser, sentinel } = await bannedTab();
  respond(browser, { url: "https://clean.test/page", type: "main_frame", leaf: CLEAN });
  respond(browser, { url: "https://cdn.test/a.js", type: "script", leaf: BANNED,
    extra: { documentUrl: "https://clean.test/sub", frameAncestors: [{ url: "https://clean.test/page", frameId: 0 }] } });
  await settle();
  commit(browser, "https://clean.test/page");
  await settle();
  assert.equal(sentinel.tabs.get(7).origins["https://cdn.test"].level, "banned");
  assert.equal(browser.badges.get(7).text, "!!");
});

test("prerendered documents and fenced frames are not the tab's page (Chromium documentLifecycle, frameType)", () => {
  assert.equal(isTopDocument({ frameId: 0 }), true);
  assert.equal(isTopDocument({ frameId: 0, documentLifecycle: "active", frameType: "outermost_frame" }), true);
  assert.equal(isTopDocument({ frameId: 0, documentLifecycle: "prerender", frameType: "outermost_frame" }), false);
  assert.equal(isTopDocument({ frameId: 4, documentLifecycle: "prerender" }), false);
  assert.equal(isTopDocument({ frameId: 0, documentLifecycle: "active", frameType: "fenced_frame" }), false);
});

test("a page a service worker fetched (tabId -1) is judged for the tab; without it the page is not checked", async () => {
  const browser = fakeBrowser({ host });
  const sentinel = startBackground(browser, registerCapture);
  await settle();
  respond(browser, { url: "https://mail.test/", type: "main_frame", leaf: CLEAN });
  commit(browser, "https://mail.test/");
  await settle();
  assert.equal(browser.badges.get(7).text, "");
  // the next visit: the worker fetches the navigation, the tab gets no main-frame response
  browser.webRequest.onBeforeRequest.fire({ requestId: "n", tabId: 7, url: "https://mail.test/", type: "main_frame" });
  respond(browser, { tabId: -1, url: "https://mail.test/", type: "xmlhttprequest", leaf: BANNED,
    extra: { documentUrl: "https://mail.test/sw.js", originUrl: "https://mail.test/sw.js" } });
  commit(browser, "https://mail.test/");
  await settle();
  assert.equal(browser.badges.get(7).text, "!!");
  assert.equal(sentinel.tabs.get(7).main.source, "service-worker");
  // another page without a response and no worker: not checked, never the earlier verdict
  commit(browser, "https://other.test/");
  await settle();
  assert.equal(browser.badges.get(7).text, "?");
  // the extension's own and the browser's requests outside tabs are not captured
  const before = browser.webRequest.calls.length;
  respond(browser, { tabId: -1, url: "https://update.test/x", leaf: CLEAN });
  respond(browser, { tabId: -1, url: "https://update.test/y", leaf: CLEAN, extra: { documentUrl: "moz-extension://x/bg.html" } });
  assert.equal(browser.webRequest.calls.length, before);
});

test("WorkerResponses: one capture per worker and origin a minute, cached apart, reset by a navigation", () => {
  let now = 0;
  const w = new WorkerResponses({ now: () => now });
  assert.equal(WorkerResponses.workerOf({ documentUrl: "https://a.test/sw.js" }), "https://a.test");
  assert.equal(WorkerResponses.workerOf({ originUrl: "moz-extension://u/x" }), null);
  assert.equal(w.wants("https://a.test", "https://a.test"), true);
  assert.equal(w.wants("https://a.test", "https://a.test"), false);
  assert.equal(w.wants("https://a.test", "https://a.test", true), true);
  now += WORKER_RECLAIM_MS;
  assert.equal(w.wants("https://a.test", "https://a.test"), true);
  w.put("https://a.test", { origin: "https://cdn.test", level: "ok" });
  w.put("https://a.test", { origin: "https://a.test", level: "banned" });
  assert.deepEqual(w.recordsFor("https://a.test").map((r) => r.origin), ["https://a.test", "https://cdn.test"]);
  w.navigating("https://a.test");
  assert.deepEqual(w.recordsFor("https://a.test"), []);
  assert.equal(w.wants("https://a.test", "https://a.test"), true);
});

test("a document without TLS of its own inherits its creator's verdict or is not checked", async () => {
  const { browser, sentinel } = await bannedTab();
  commit(browser, "blob:https://evil.test/1b2c");
  await settle();
  assert.equal(browser.badges.get(7).text, "!!");
  assert.equal(sentinel.tabs.get(7).main.inherited, true);
  // window.open('about:blank') from the banned page: the new tab shows what the opener writes
  browser.openedListener({ tabId: 9, sourceTabId: 7, sourceFrameId: 0, url: "about:blank" });
  await settle();
  assert.equal(browser.badges.get(9).text, "!!");
  commit(browser, "about:blank", 9);
  await settle();
  assert.equal(browser.badges.get(9).text, "!!");
  // a blob of another origin, a data: URL: not checked, never an empty badge
  assert.equal(freshState("blob:https://other.test/1", sentinel.tabs.get(7)).main.level, "unknown");
  assert.equal(freshState("data:text/html,hi", sentinel.tabs.get(7)).main.level, "unknown");
  assert.equal(freshState("about:blank", null).main.level, "unknown");
  assert.equal(freshState("moz-extension://u/options.html", sentinel.tabs.get(7)), null);
  assert.equal(freshState("about:newtab", sentinel.tabs.get(7)), null);
});

test("enforce mode (Firefox): a frame is held and cancelled when banned; a banned origin's later responses at once", async () => {
  const browser = fakeBrowser({ host, managed: { mode: "enforce" } });
  startBackground(browser, registerCapture);
  await settle();
  respond(browser, { url: "http://news.test/", type: "main_frame", leaf: CLEAN }); // plain http (not captured here)
  commit(browser, "http://news.test/");
  const fire = (url, type, leaf) => {
    const requestId = `e${n++}`;
    browser.securityInfos.set(requestId, securityInfo(leaf));
    return browser.webRequest.onHeadersReceived.fire({ requestId, tabId: 7, url, type, fromCache: false, frameId: 3 })[0];
  };
  const frame = fire("https://evil.test/frame.html", "sub_frame", BANNED);
  const script = fire("https://evil.test/a.js", "script", BANNED); // same origin, not captured: waits for the frame's verdict
  const clean = fire("https://cdn.test/lib.js", "script", CLEAN);
  assert.ok(frame instanceof Promise && script instanceof Promise);
  assert.deepEqual(await frame, { cancel: true });
  assert.deepEqual(await script, { cancel: true });
  assert.deepEqual(await clean, {});
  assert.deepEqual(fire("https://evil.test/b.js", "script", BANNED), { cancel: true }, "already judged banned: at once");
  await settle();
  assert.equal(browser.badges.get(7).text, "!!");
  assert.ok(browser.native.sent.some((m) => m.type === "blocked" && m.url === "https://evil.test/frame.html"));
});

test("warn mode holds nothing but main frames' (no promise for a frame or a subresource)", async () => {
  const browser = fakeBrowser({ host });
  startBackground(browser, registerCapture);
  await settle();
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: CLEAN });
  commit(browser, "https://a.test/");
  await settle();
  const requestId = `w${n++}`;
  browser.securityInfos.set(requestId, securityInfo(BANNED));
  const [ret] = browser.webRequest.onHeadersReceived.fire({ requestId, tabId: 7, url: "https://evil.test/f", type: "sub_frame", fromCache: false, frameId: 3 });
  assert.equal(ret, undefined);
});
