/**
 * Issue 27: what one load of the bench page (1 main frame, 100 images on 10 origins; bench_firefox.py)
 * costs the extension, counted (load-independent, so not noisy): storage.session.set calls and their
 * JSON bytes, storage.onChanged listener calls (and the bytes each carries back), action.* calls,
 * webRequest listener calls per response, getSecurityInfo calls (Firefox), host requests. The
 * extension runs against the fakes of tests/js (fake-browser.mjs, fake-chrome.mjs: Chromium 156 calls
 * a securityInfo listener without `securityInfo`), with the responses of a load spread in time
 * (each one let run before the next), a commit after the main frame and the browser's clearing of
 * the badge there.
 *
 * Usage: node bench/counts.mjs [EXTENSION_ROOT]  (default: this checkout; another root, e.g. an earlier
 * commit from `git archive`, must hold extension/src). Prints one JSON object: per build
 * (firefox, firefox_nohost, chromium, chromium_nohost), the counts per warm load (the mean of 3 loads
 * after 2 warm-up loads).
 */
import { resolve, join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";

const HERE = resolve(fileURLToPath(import.meta.url), "..");
const ROOT = resolve(process.argv[2] ?? join(HERE, ".."));
const ext = (p) => pathToFileURL(join(ROOT, "extension", "src", p)).href;
const fakes = pathToFileURL(join(HERE, "..", "tests", "js")).href;

const { fakeBrowser, securityInfo, verdict } = await import(`${fakes}/fake-browser.mjs`);
const { fakeChrome } = await import(`${fakes}/fake-chrome.mjs`);
const { startBackground } = await import(ext("core/background.js"));
const firefox = await import(ext("firefox/capture.js"));
const chromium = await import(ext("chromium/capture.js"));

const LEAF = "a1".repeat(32);
const WARM = 2;
const COUNTED = 3;
const tick = () => new Promise((r) => setTimeout(r, 0));
const settle = async (n) => { for (let i = 0; i < n; i += 1) await tick(); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function hello(msg) {
  return { type: "hello", id: msg.id, version: "0.1.0", protocol: 1, blocklist: { version: "t", size: 1, sha256: "00" } };
}

function host(msg) {
  if (msg.type === "hello") return hello(msg);
  if (msg.type === "check") return verdict(msg, "ok");
  if (msg.type === "probe") return verdict({ ...msg, url: msg.url ?? `https://${msg.host}/` }, "ok", { evidence: "probe" });
  return undefined;
}

const WEBREQUEST_EVENTS = ["onBeforeRequest", "onHeadersReceived", "onResponseStarted", "onBeforeRedirect", "onCompleted", "onErrorOccurred"];

function instrument(b) {
  const c = { sessionSets: 0, sessionBytes: 0, onChangedCalls: 0, onChangedBytes: 0, action: 0, webRequestCalls: 0,
    getSecurityInfo: 0, hostRequests: 0 };
  const set = b.storage.session.set.bind(b.storage.session);
  b.storage.session.set = (obj) => {
    c.sessionSets += 1;
    const bytes = JSON.stringify(obj).length;
    c.sessionBytes += bytes;
    // what the browser sends back to each listener woken by it (new values; Chromium adds the old ones)
    const woken = b.storage.onChanged.listeners.length + (b.storage.session.onChanged?.listeners?.length ?? 0);
    c.onChangedCalls += woken;
    c.onChangedBytes += woken * bytes;
    return set(obj);
  };
  for (const name of Object.keys(b.action)) {
    const fn = b.action[name];
    b.action[name] = (...a) => { c.action += 1; return fn(...a); };
  }
  for (const e of WEBREQUEST_EVENTS) {
    const ev = b.webRequest[e];
    if (!ev) continue;
    const fire = ev.fire.bind(ev);
    ev.fire = (d) => { const out = fire(d); c.webRequestCalls += out.length; return out; };
  }
  if (b.webRequest.getSecurityInfo) {
    const gsi = b.webRequest.getSecurityInfo;
    b.webRequest.getSecurityInfo = (...a) => { c.getSecurityInfo += 1; return gsi(...a); };
  }
  return c;
}

let nextRequest = 1;
async function load(b, kind, n) {
  const page = `https://o0.test/page?n=${n}`;
  const fire = (url, type) => {
    const details = { requestId: String(nextRequest++), tabId: 7, url, type, fromCache: false, frameId: type === "main_frame" ? 0 : 3 };
    if (kind === "firefox") {
      b.securityInfos.set(details.requestId, securityInfo(LEAF));
      b.webRequest.onHeadersReceived.fire(details);
      b.webRequest.onResponseStarted?.fire({ ...details, ip: "127.0.0.1" });
    } else {
      b.webRequest.onHeadersReceived.fire(details);
      b.webRequest.onResponseStarted.fire({ ...details, ip: "127.0.0.1" });
    }
  };
  fire(page, "main_frame");
  await settle(2);
  b.badges.delete(7); // the browser clears the tab's badge when the document commits
  b.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: page });
  b.tabs.onUpdated.fire(7, { status: "loading", url: page });
  for (let j = 0; j < 10; j += 1) {
    for (let o = 0; o < 10; o += 1) {
      fire(`https://o${o}.test/r${j}.png?n=${n}`, "image");
      await settle(1);
    }
  }
  await settle(5);
  b.tabs.onUpdated.fire(7, { status: "complete" });
  await settle(5);
  await sleep(300); // past any coalescing delay
}

async function measure(kind, withHost) {
  const b = kind === "firefox" ? fakeBrowser({ host: withHost ? host : null }) : fakeChrome({ host: withHost ? host : null });
  const c = instrument(b);
  const sent = () => b.native.sent.length;
  startBackground(b, kind === "firefox" ? firefox.registerCapture : (api, s) => chromium.registerCapture(api, s),
    { client: kind });
  await settle(5);
  for (let i = 0; i < WARM; i += 1) await load(b, kind, i);
  const before = { ...c, hostRequests: sent() };
  for (let i = 0; i < COUNTED; i += 1) await load(b, kind, WARM + i);
  const after = { ...c, hostRequests: sent() };
  const out = {};
  for (const k of Object.keys(before)) out[k] = (after[k] - before[k]) / COUNTED;
  out.webRequestCallsPerResponse = out.webRequestCalls / 101;
  out.badge = b.badges.get(7)?.text ?? null;
  return out;
}

const result = {};
for (const [name, kind, withHost] of [["firefox", "firefox", true], ["firefox_nohost", "firefox", false],
  ["chromium", "chromium", true], ["chromium_nohost", "chromium", false]]) {
  result[name] = await measure(kind, withHost);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
