/**
 * Issue 27: what a page load costs the extension, counted (load-independent): storage.session
 * writes and their bytes, which listeners a write wakes, action.* calls, webRequest events per response.
 * The bench page is 1 main frame and 100 images on 10 origins (bench/bench_firefox.py).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startBackground } from "../../extension/src/core/background.js";
import { registerCapture } from "../../extension/src/firefox/capture.js";
import * as tabstate from "../../extension/src/core/tabstate.js";
import { fakeBrowser, securityInfo, settle, verdict } from "./fake-browser.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PERSIST_DELAY_MS = tabstate.PERSIST_DELAY_MS ?? 0;
const LEAF = "a1".repeat(32);

function hello(msg) {
  return { type: "hello", id: msg.id, version: "0.1.0", protocol: 1, blocklist: { version: "t", size: 1, sha256: "00" } };
}

function host(msg) {
  if (msg.type === "hello") return hello(msg);
  if (msg.type === "check") return verdict(msg, "ok");
  return undefined;
}

/** Counts storage.session writes (calls, JSON bytes) and action.* calls of a fake browser. */
export function instrument(browser) {
  const counts = { sessionSets: 0, sessionBytes: 0, action: 0 };
  const set = browser.storage.session.set.bind(browser.storage.session);
  browser.storage.session.set = (obj) => { counts.sessionSets += 1; counts.sessionBytes += JSON.stringify(obj).length; return set(obj); };
  for (const name of Object.keys(browser.action)) {
    const fn = browser.action[name];
    browser.action[name] = (...a) => { counts.action += 1; return fn(...a); };
  }
  return counts;
}

let nextRequest = 1;
/**
 * One load of the bench page in tab 7 of a fake Firefox: main frame, commit, 100 images (each let
 * run to its end before the next, as a real page's responses are spread in time), complete.
 */
async function benchLoad(browser, n) {
  const page = `https://o0.test/page?n=${n}`;
  const fire = (url, type) => {
    const id = String(nextRequest++);
    browser.securityInfos.set(id, securityInfo(LEAF));
    browser.webRequest.onHeadersReceived.fire({ requestId: id, tabId: 7, url, type, fromCache: false, frameId: type === "main_frame" ? 0 : 3 });
  };
  fire(page, "main_frame");
  await settle(2);
  browser.badges.delete(7); // the browser clears the badge when the navigation commits
  browser.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: page });
  browser.tabs.onUpdated.fire(7, { status: "loading", url: page });
  for (let j = 0; j < 10; j += 1) {
    for (let o = 0; o < 10; o += 1) {
      fire(`https://o${o}.test/r${j}.png?n=${n}`, "image");
      await settle(1);
    }
  }
  await settle(5);
  browser.tabs.onUpdated.fire(7, { status: "complete" });
  await settle(5);
  await sleep(PERSIST_DELAY_MS + 30);
}

test("a page load writes the tab state at most twice, and the verdict survives a restart", async () => {
  const browser = fakeBrowser({ host });
  const counts = instrument(browser);
  startBackground(browser, registerCapture);
  await settle();
  await benchLoad(browser, 0); // warm-up: the host sees the chain
  const before = { ...counts };
  await benchLoad(browser, 1);
  const sets = counts.sessionSets - before.sessionSets;
  const bytes = counts.sessionBytes - before.sessionBytes;
  assert.ok(sets <= 2, `storage.session.set calls per load: ${sets}`);
  assert.ok(bytes < 20000, `bytes written per load: ${bytes}`);

  // A restart: a new background with the same storage.session finds the verdict.
  const session = await browser.storage.session.get(null);
  assert.deepEqual(Object.keys(session).filter((k) => /^(tab|hist):/.test(k)).sort(), ["tab:7"]);
  const again = fakeBrowser({ host, session });
  const sentinel = startBackground(again, registerCapture);
  await sentinel.tabs.ready();
  assert.equal(sentinel.tabs.get(7).level, "ok");
  assert.equal(sentinel.tabs.get(7).url, "https://o0.test/page?n=1");
  again.tabs.onUpdated.fire(7, { status: "complete" });
  await settle();
  assert.match(again.badges.get(7).title, /^RootSentinel: not intercepted/);
  // back to the first page without a response: not checked, never a remembered verdict (issue 22 item 3)
  again.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://o0.test/page?n=0" });
  await settle();
  assert.equal(sentinel.tabs.get(7).main.error.code, "no_security_info");
});

test("the extension's own storage.session writes wake no listener; a settings change still does", async () => {
  const browser = fakeBrowser({ host });
  const sentinel = startBackground(browser, registerCapture);
  await settle();
  assert.equal(browser.storage.onChanged.listeners.length, 0, "no listener on the shared storage.onChanged");
  assert.equal(browser.storage.session.onChanged.listeners.length, 0);
  assert.equal(browser.storage.local.onChanged.listeners.length, 1);
  assert.equal(browser.storage.managed.onChanged.listeners.length, 1);
  await browser.storage.local.set({ mode: "enforce" });
  await settle();
  assert.equal(sentinel.settings.mode, "enforce");
});

test("a browser without per-area onChanged falls back to storage.onChanged, filtered by area", async () => {
  const browser = fakeBrowser({ host });
  delete browser.storage.local.onChanged;
  delete browser.storage.managed.onChanged;
  const sentinel = startBackground(browser, registerCapture);
  await settle();
  assert.equal(browser.storage.onChanged.listeners.length, 1);
  let loads = 0;
  const load = sentinel.loadSettings.bind(sentinel);
  sentinel.loadSettings = () => { loads += 1; return load(); };
  await browser.storage.session.set({ "tab:1": { state: null } });
  assert.equal(loads, 0, "a session write does not reload the settings");
  await browser.storage.local.set({ mode: "enforce" });
  await settle();
  assert.equal(loads, 1);
  assert.equal(sentinel.settings.mode, "enforce");
});

test("the badge is drawn once per change: not before the commit that resets it, no forced redraw on tab updates", async () => {
  const browser = fakeBrowser({ host });
  const counts = instrument(browser);
  const calls = [];
  for (const name of Object.keys(browser.action)) {
    const fn = browser.action[name];
    browser.action[name] = (d) => { calls.push([name, d.text ?? d.color ?? d.title ?? d.path?.[16]]); return fn(d); };
  }
  startBackground(browser, registerCapture);
  await settle();
  await benchLoad(browser, 0);
  calls.length = 0;
  const before = counts.action;
  await benchLoad(browser, 1);
  const perLoad = counts.action - before;
  // Nothing before the commit (the browser resets the badge there); then the page once: what differs from
  // the defaults (ok: colour, icon, title), and what changes after (nothing here). 20 on main.
  assert.ok(perLoad <= 4, `action.* calls per load: ${perLoad} ${JSON.stringify(calls)}`);
  assert.match(browser.badges.get(7).title, /^RootSentinel: not intercepted/);
  assert.equal(browser.badges.get(7).icon[16], "/icons/toolbar/ok-16.png");
  // a tab update with nothing new draws nothing
  const n = counts.action;
  browser.tabs.onUpdated.fire(7, { status: "complete" });
  await settle();
  assert.equal(counts.action, n);
});

/** One load of the bench page in tab 7 of a fake Chromium 156 (securityInfo listeners called without it). */
async function chromiumBenchLoad(chrome, n) {
  const page = `https://o0.test/page?n=${n}`;
  const fire = (url, type) => {
    const details = { requestId: String(nextRequest++), tabId: 7, url, type, fromCache: false, frameId: type === "main_frame" ? 0 : 3 };
    chrome.webRequest.onHeadersReceived.fire(details);
    chrome.webRequest.onResponseStarted.fire({ ...details, ip: "127.0.0.1" });
  };
  fire(page, "main_frame");
  await settle(2);
  chrome.badges.delete(7);
  chrome.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: page });
  chrome.tabs.onUpdated.fire(7, { status: "loading", url: page });
  for (let o = 0; o < 10; o += 1) for (let j = 0; j < 10; j += 1) fire(`https://o${o}.test/r${j}.png?n=${n}`, "image");
  await settle(5);
  chrome.tabs.onUpdated.fire(7, { status: "complete" });
  await settle(5);
  await sleep(PERSIST_DELAY_MS + 30);
}

function chromiumHost(msg) {
  if (msg.type === "hello") return hello(msg);
  if (msg.type === "probe") return verdict({ ...msg, url: msg.url ?? `https://${msg.host}/` }, "ok", { evidence: "probe" });
  return undefined;
}

test("Chromium: one webRequest listener call per response, two storage writes and a handful of badge calls per load", async () => {
  const { fakeChrome } = await import("./fake-chrome.mjs");
  const { registerCapture: registerChromium } = await import("../../extension/src/chromium/capture.js");
  const chrome = fakeChrome({ host: chromiumHost });
  const counts = instrument(chrome);
  const sentinel = startBackground(chrome, (api, s) => registerChromium(api, s), { client: "chromium" });
  await settle();
  await chromiumBenchLoad(chrome, 0);
  const events = () => ["onHeadersReceived", "onResponseStarted", "onBeforeRedirect", "onErrorOccurred"]
    .reduce((sum, e) => sum + (chrome.webRequest[e]?.calls ?? 0), 0);
  const before = { ...counts, events: events() };
  await chromiumBenchLoad(chrome, 1);
  const perResponse = (events() - before.events) / 101;
  assert.equal(perResponse, 1, `webRequest listener calls per response: ${perResponse}`);
  assert.ok(counts.sessionSets - before.sessionSets <= 2, `storage.session.set per load: ${counts.sessionSets - before.sessionSets}`);
  assert.ok(counts.action - before.action <= 4, `action.* calls per load: ${counts.action - before.action}`);
  assert.equal(sentinel.tabs.get(7).level, "ok");
  assert.equal(Object.keys(sentinel.tabs.get(7).origins).length, 10, "every origin of the page is on record");
});

test("an error page clears the badge without a commit event: it is drawn again from webNavigation.onErrorOccurred", async () => {
  const { fakeChrome } = await import("./fake-chrome.mjs");
  const { registerCapture: registerChromium } = await import("../../extension/src/chromium/capture.js");
  const chrome = fakeChrome({ host: (msg) => (msg.type === "hello" ? hello(msg)
    : { ...verdict({ ...msg, url: "https://shop.test/" }, "interception"), evidence: "probe" }) });
  startBackground(chrome, (api, s) => registerChromium(api, s), { client: "chromium" });
  await settle();
  chrome.webRequest.onErrorOccurred.fire({ requestId: "e1", tabId: 7, url: "https://shop.test/", type: "main_frame",
    error: "net::ERR_CERT_AUTHORITY_INVALID" });
  await settle(10);
  assert.equal(chrome.badges.get(7).text, "✕");
  chrome.badges.delete(7); // Chromium commits its error page: the action's tab values are reset
  chrome.webNavigation.onErrorOccurred.fire({ tabId: 7, frameId: 0, url: "https://shop.test/", error: "net::ERR_CERT_AUTHORITY_INVALID" });
  await settle();
  assert.equal(chrome.badges.get(7)?.text, "✕");
});

test("Firefox with no host: after repeated host failures on a page its origins are not captured again there", async () => {
  const browser = fakeBrowser({ host: null });
  startBackground(browser, registerCapture);
  await settle();
  await benchLoad(browser, 0);
  const before = browser.webRequest.calls.length;
  await benchLoad(browser, 1);
  const calls = browser.webRequest.calls.length - before;
  // the main frame, each origin's first response, a few more until the page has seen the host fail, the sample
  assert.ok(calls <= 30, `getSecurityInfo calls per load without a host: ${calls}`);
  const state = (await import("../../extension/src/core/tabstate.js")).pageLevel;
  assert.equal(browser.badges.get(7).text, "?", "unknown, never ok");
  assert.ok(state);
});

test("Chromium with no host shows the host-missing state at once, while storage.managed has not answered yet", async () => {
  const { fakeChrome } = await import("./fake-chrome.mjs");
  const { registerCapture: registerChromium } = await import("../../extension/src/chromium/capture.js");
  const chrome = fakeChrome({ host: null });
  let answer;
  chrome.storage.managed.get = () => new Promise((resolve) => { answer = resolve; }); // the policy service is not up
  const sentinel = startBackground(chrome, (api, s) => registerChromium(api, s), { client: "chromium" });
  await settle();
  chrome.webRequest.onResponseStarted.fire({ requestId: "m1", tabId: 7, url: "https://a.test/", type: "main_frame",
    fromCache: false, frameId: 0, ip: "192.0.2.1" });
  chrome.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://a.test/" });
  await settle(10);
  assert.equal(sentinel.settings, null, "the settings have not loaded");
  assert.equal(chrome.badges.get(7)?.text, "?", "not pending: the host is missing");
  assert.equal(sentinel.tabs.get(7).main.error.code, "host_unreachable");
  answer({});
});

test("with a host, nothing reaches it before hello, and hello waits for the settings it carries", async () => {
  const { fakeChrome } = await import("./fake-chrome.mjs");
  const { registerCapture: registerChromium } = await import("../../extension/src/chromium/capture.js");
  const chrome = fakeChrome({ host: chromiumHost });
  let answer;
  chrome.storage.managed.get = () => new Promise((resolve) => { answer = resolve; });
  const sentinel = startBackground(chrome, (api, s) => registerChromium(api, s), { client: "chromium" });
  await settle();
  chrome.webRequest.onResponseStarted.fire({ requestId: "m2", tabId: 7, url: "https://a.test/", type: "main_frame",
    fromCache: false, frameId: 0, ip: "192.0.2.1" });
  chrome.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://a.test/" });
  await settle(10);
  assert.equal(chrome.native.ports.length, 1, "the port is open");
  assert.deepEqual(chrome.native.sent, [], "nothing is sent before the settings load");
  assert.equal(sentinel.tabs.get(7).level, "pending");
  answer({ allow_spki_sha256: ["ab".repeat(32)] });
  await settle(10);
  assert.deepEqual(chrome.native.sent.map((m) => m.type), ["hello", "probe"]);
  assert.deepEqual(chrome.native.sent[0].policy, { allow_spki_sha256: ["ab".repeat(32)] });
  assert.equal(sentinel.tabs.get(7).level, "ok");
});

test("each write carries the current state only: no per-URL history is kept (issue 22 item 3)", async () => {
  const { TabStates } = tabstate;
  const writes = [];
  const store = {};
  const session = {
    async get() { return structuredClone(store); },
    async set(obj) { writes.push(Object.keys(obj).sort()); Object.assign(store, structuredClone(obj)); },
    async remove(keys) { for (const k of [].concat(keys)) delete store[k]; },
  };
  const tabs = new TabStates({ session, persistDelayMs: 0 });
  await tabs.ready();
  for (let i = 0; i < 5; i += 1) {
    tabs.startPage(3, `https://p${i}.test/`, `r${i}`);
    await tabs.flush();
  }
  assert.deepEqual(writes, Array(5).fill(["tab:3"]));
  tabs.remove(3);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(Object.keys(store), []);
});

test("a main-frame response that never commits (a download, a 204) is never drawn (issue 22 item 2)", async () => {
  const browser = fakeBrowser({ host });
  startBackground(browser, registerCapture);
  await settle();
  browser.securityInfos.set("d1", securityInfo(LEAF));
  browser.webRequest.onHeadersReceived.fire({ requestId: "d1", tabId: 7, url: "https://dl.test/file.zip", type: "main_frame", fromCache: false, frameId: 0 });
  await sleep(50);
  await settle();
  assert.equal(browser.badges.get(7), undefined, "the page on screen keeps its badge: nothing is drawn");
});

test("the popup's flush-tab-states message writes a pending tab state at once", async () => {
  const browser = fakeBrowser({ host });
  startBackground(browser, registerCapture);
  await settle();
  browser.securityInfos.set("f1", securityInfo(LEAF));
  browser.webRequest.onHeadersReceived.fire({ requestId: "f1", tabId: 7, url: "https://f.test/", type: "main_frame", fromCache: false, frameId: 0 });
  browser.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://f.test/" });
  await settle();
  assert.deepEqual(await browser.storage.session.get("tab:7"), {}, "not written yet (coalescing)");
  const [reply] = browser.runtime.onMessage.fire({ type: "flush-tab-states" });
  assert.equal(await reply, true);
  assert.equal((await browser.storage.session.get("tab:7"))["tab:7"].state.level, "ok");
});

test("Firefox without a host: a navigation's retry of the missing host does not hold the main frame", async () => {
  const browser = fakeBrowser({ host: null });
  browser.webNavigation.onBeforeNavigate = new (await import("./fake-browser.mjs")).FakeEvent();
  const sentinel = startBackground(browser, registerCapture);
  await settle(5);
  assert.match(sentinel.host.lastError ?? "", /No such native application/);
  browser.webNavigation.onBeforeNavigate.fire({ tabId: 7, frameId: 0, url: "https://a.test/" });
  assert.equal(sentinel.host.connected, true, "the retry's port is open until the browser fails it");
  browser.securityInfos.set("n1", securityInfo(LEAF));
  const [ret] = browser.webRequest.onHeadersReceived.fire({ requestId: "n1", tabId: 7, url: "https://a.test/", type: "main_frame", fromCache: false, frameId: 0 });
  assert.equal(ret, undefined, "the main frame is not held");
});
