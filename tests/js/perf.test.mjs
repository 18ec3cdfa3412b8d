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
/** One load of the bench page in tab 7 of a fake Firefox: main frame, commit, 100 images, complete. */
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
  for (let o = 0; o < 10; o += 1) for (let j = 0; j < 10; j += 1) fire(`https://o${o}.test/r${j}.png?n=${n}`, "image");
  await settle(5);
  browser.tabs.onUpdated.fire(7, { status: "complete" });
  await settle(5);
  await sleep(PERSIST_DELAY_MS + 30);
}

test("a page load writes the tab state at most twice, history only when it changes, and the verdict survives a restart", async () => {
  const browser = fakeBrowser({ host });
  const counts = instrument(browser);
  startBackground(browser, registerCapture);
  await settle();
  await benchLoad(browser, 0); // warm-up: the host sees the chain
  const before = { ...counts };
  const histWrites = [];
  const set = browser.storage.session.set;
  browser.storage.session.set = (obj) => { if (Object.keys(obj).some((k) => k.startsWith("hist:"))) histWrites.push(obj); return set(obj); };
  await benchLoad(browser, 1);
  const sets = counts.sessionSets - before.sessionSets;
  const bytes = counts.sessionBytes - before.sessionBytes;
  assert.ok(sets <= 2, `storage.session.set calls per load: ${sets}`);
  assert.ok(bytes < 20000, `bytes written per load: ${bytes}`);
  assert.equal(histWrites.length, 1, "the history changes once per new page");
  await benchLoad(browser, 1); // the same URL again: a reload does not change the history
  assert.equal(histWrites.length, 1);

  // A restart: a new background with the same storage.session finds the verdict and history.
  const session = await browser.storage.session.get(null);
  assert.deepEqual(Object.keys(session).filter((k) => /^(tab|hist):/.test(k)).sort(), ["hist:7", "tab:7"]);
  const again = fakeBrowser({ host, session });
  const sentinel = startBackground(again, registerCapture);
  await sentinel.tabs.ready();
  assert.equal(sentinel.tabs.get(7).level, "ok");
  assert.equal(sentinel.tabs.get(7).url, "https://o0.test/page?n=1");
  again.tabs.onUpdated.fire(7, { status: "complete" });
  await settle();
  assert.match(again.badges.get(7).title, /^RootSentinel: not intercepted/);
  // back to the first page: restored from the history key
  again.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://o0.test/page?n=0" });
  await settle();
  assert.equal(sentinel.tabs.get(7).restored, true);
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

test("the badge is drawn once per change: no forced redraw on commit or tab update", async () => {
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
  // pending (text, colour, icon, title), ok (the same four, here before the commit), then after the browser
  // cleared them at the commit only what differs from the defaults (colour, icon, title): 11, not 20.
  assert.ok(perLoad <= 11, `action.* calls per load: ${perLoad} ${JSON.stringify(calls)}`);
  assert.match(browser.badges.get(7).title, /^RootSentinel: not intercepted/);
  assert.equal(browser.badges.get(7).icon[16], "/icons/toolbar/ok-16.png");
  // a tab update with nothing new draws nothing
  const n = counts.action;
  browser.tabs.onUpdated.fire(7, { status: "complete" });
  await settle();
  assert.equal(counts.action, n);
});
