/**
 * Issue 16: Firefox is asked for rawDER only where the host needs it (CapturePlan), getSecurityInfo
 * only for an origin's first response on a page and a sample of the rest (PageOrigins), and responses
 * whose leaf and host were judged already on the page record nothing (PageSeen).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startBackground } from "../../extension/src/core/background.js";
import { registerCapture } from "../../extension/src/firefox/capture.js";
import { CapturePlan, PageOrigins, PageSeen, originKey } from "../../extension/src/core/cache.js";
import { PERSIST_DELAY_MS } from "../../extension/src/core/tabstate.js";
import { fakeBrowser, securityInfo, settle, verdict } from "./fake-browser.mjs";

const LEAF_A = "a1".repeat(32);
const LEAF_B = "b2".repeat(32);

function hello(msg) {
  return { type: "hello", id: msg.id, version: "0.1.0", protocol: 1, blocklist: { version: "t", size: 1, sha256: "00" } };
}

/** A host that judges by leaf; `derWanted(msg)` true: replies like a host that has not seen the certificates. */
function host(levels, derWanted = () => false) {
  return (msg) => {
    if (msg.type === "hello") return hello(msg);
    if (msg.type !== "check") return undefined;
    if (derWanted(msg)) return verdict(msg, "unknown", { reason: "der_wanted", der_wanted: true, der_missing: [0, 1] });
    const fp = msg.securityInfo.certificates[0].fingerprint.sha256.replace(/:/g, "").toLowerCase();
    return verdict(msg, levels[fp] ?? "ok");
  };
}

let next = 1;
/** One response; a main frame then commits (`commit: false`: one that does not). */
function respond(browser, opts) {
  const { tabId = 7, url, type = "image", leaf, si, fromCache = false, commit = true } = opts;
  const id = `p${next++}`;
  browser.securityInfos.set(id, "si" in opts ? si : securityInfo(leaf));
  browser.webRequest.onHeadersReceived.fire({ requestId: id, tabId, url, type, fromCache, frameId: type === "main_frame" ? 0 : 3 });
  if (type === "main_frame" && commit) browser.webNavigation.onCommitted.fire({ tabId, frameId: 0, url });
  return id;
}

const asked = (browser, id) => browser.webRequest.calls.find((c) => c.requestId === id).options;
const checks = (browser) => browser.native.sent.filter((m) => m.type === "check");

/**
 * A background on the fake browser. `sample`: what PageOrigins' random draws return (0: every response
 * of a claimed origin is sampled, so every response is captured, as the CapturePlan tests need; 1: none is).
 */
async function boot(hostFn, { sample = 0 } = {}) {
  const browser = fakeBrowser({ host: hostFn });
  const sentinel = startBackground(browser, registerCapture);
  sentinel.origins.random = () => sample;
  await settle();
  return { browser, sentinel };
}

const captured = (browser, id) => browser.webRequest.calls.some((c) => c.requestId === id);

test("originKey is the scheme, host and port of a URL", () => {
  assert.equal(originKey("https://a.test:8443/x/y?z"), "https://a.test:8443");
  assert.equal(originKey("https://a.test"), "https://a.test");
  assert.equal(originKey("wss://b.test/s"), "wss://b.test");
});

test("rawDER is asked for an origin's first response (and main frames) only", async () => {
  const { browser } = await boot(host({}));
  const first = respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  const more = [1, 2, 3].map((i) => respond(browser, { url: `https://a.test/i${i}.png`, leaf: LEAF_A }));
  const other = respond(browser, { url: "https://b.test/x.png", leaf: LEAF_B });
  assert.deepEqual(asked(browser, first), { certificateChain: true, rawDER: true });
  for (const id of more) assert.deepEqual(asked(browser, id), { certificateChain: true });
  assert.deepEqual(asked(browser, other), { certificateChain: true, rawDER: true });
  const main2 = respond(browser, { url: "https://a.test/next", type: "main_frame", leaf: LEAF_A });
  assert.deepEqual(asked(browser, main2), { certificateChain: true, rawDER: true }, "a main frame always brings its DER");
  await settle();
  // the fake honours the options: what reached the host has DER only for the first responses
  assert.deepEqual(checks(browser).map((m) => m.securityInfo.certificates.some((c) => "rawDER" in c)), [true, true]);
});

test("a der_wanted reply is never ok, and the next response of that origin is captured with rawDER", async () => {
  const { browser, sentinel } = await boot(host({}, (msg) => !msg.securityInfo.certificates.some((c) => "rawDER" in c)));
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  // a new leaf on a known origin arrives without DER: the host wants it
  const lean = respond(browser, { url: "https://a.test/i.png", leaf: LEAF_B });
  assert.deepEqual(asked(browser, lean), { certificateChain: true });
  await settle();
  const provisional = sentinel.tabs.get(7).origins["https://a.test"];
  assert.equal(provisional.level, "unknown", "a leaf the host could not judge is not shown as ok");
  assert.equal(provisional.provisional, true);
  assert.equal(checks(browser).at(-1).securityInfo.certificates.some((c) => "rawDER" in c), false);
  const again = respond(browser, { url: "https://a.test/j.png", leaf: LEAF_B });
  assert.deepEqual(asked(browser, again), { certificateChain: true, rawDER: true });
  await settle();
  const last = checks(browser).at(-1);
  assert.deepEqual(last.securityInfo.certificates.map((c) => "rawDER" in c), [true, true],
    "the certificates the host asked for are not stripped as already judged");
  assert.equal(sentinel.tabs.get(7).origins["https://a.test"].level, "ok", "the verdict from the DER replaces it");
  const after = respond(browser, { url: "https://a.test/k.png", leaf: LEAF_B });
  assert.deepEqual(asked(browser, after), { certificateChain: true });
});

test("a response that is not secure makes the next one of its origin carry rawDER", async () => {
  const { browser } = await boot(host({}));
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  const broken = { ...securityInfo(LEAF_B), state: "broken" };
  respond(browser, { url: "https://a.test/x.png", si: broken });
  await settle();
  const nextId = respond(browser, { url: "https://a.test/y.png", leaf: LEAF_A });
  assert.deepEqual(asked(browser, nextId), { certificateChain: true, rawDER: true });
});

test("repeats of a judged leaf and host on the page are skipped; an intercepted image origin still shows", async () => {
  const { browser, sentinel } = await boot(host({ [LEAF_B]: "interception" }));
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  for (let i = 0; i < 10; i += 1) respond(browser, { url: `https://evil.test/i${i}.png`, leaf: LEAF_B });
  await settle();
  const state = sentinel.tabs.get(7);
  assert.equal(state.level, "interception");
  assert.equal(state.origins["https://evil.test"].level, "interception");
  const seenBefore = sentinel.cache.hits + sentinel.cache.misses;
  for (let i = 0; i < 10; i += 1) respond(browser, { url: `https://evil.test/late${i}.png`, leaf: LEAF_B });
  await settle();
  assert.equal(sentinel.cache.hits + sentinel.cache.misses, seenBefore, "the PageSeen fast path asks no cache");
  assert.equal(checks(browser).length, 2);
  // a new page judges again (from the verdict cache), and still shows the intercepted origin
  respond(browser, { url: "https://a.test/2", type: "main_frame", leaf: LEAF_A });
  await settle();
  respond(browser, { url: "https://evil.test/i0.png", leaf: LEAF_B });
  await settle();
  assert.equal(sentinel.tabs.get(7).origins["https://evil.test"].level, "interception");
});

test("CapturePlan and PageSeen are bounded", () => {
  const plan = new CapturePlan(3);
  for (const o of ["a", "b", "c"]) assert.equal(plan.take(o), true);
  assert.equal(plan.take("a"), false); // a is now the most recent
  assert.equal(plan.take("d"), true); // drops b, the least recently used
  assert.equal(plan.take("b"), true);
  assert.equal(plan.take("a"), false);
  plan.wantAgain("a");
  assert.equal(plan.take("a"), true);
  const seen = new PageSeen(2);
  seen.add(1, 5, "x"); seen.add(1, 5, "y"); seen.add(1, 5, "z");
  assert.equal(seen.has(1, 5, "x") && seen.has(1, 5, "y") && !seen.has(1, 5, "z"), true);
  assert.equal(seen.has(1, 6, "x"), false, "another page of the tab has seen nothing");
});

test("getSecurityInfo is asked once per origin on a page (no sample); an intercepted image origin still shows", async () => {
  const { browser, sentinel } = await boot(host({ [LEAF_B]: "interception" }), { sample: 1 });
  const main = respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  const same = respond(browser, { url: "https://a.test/logo.png", leaf: LEAF_A });
  const evil = Array.from({ length: 10 }, (_, i) => respond(browser, { url: `https://evil.test/i${i}.png`, leaf: LEAF_B }));
  const port = respond(browser, { url: "https://evil.test:8443/i.png", leaf: LEAF_B });
  await settle();
  assert.equal(captured(browser, main), true);
  assert.equal(captured(browser, same), false, "the main frame claimed its origin for the page");
  assert.deepEqual(evil.map((id) => captured(browser, id)), [true, ...Array(9).fill(false)]);
  assert.equal(captured(browser, port), true, "another port is another origin");
  const state = sentinel.tabs.get(7);
  assert.equal(state.level, "interception");
  assert.equal(state.origins["https://evil.test"].level, "interception");
  assert.equal(sentinel.origins.skipped, 10);
  // a new page captures every origin again, and still shows the intercepted one
  respond(browser, { url: "https://a.test/2", type: "main_frame", leaf: LEAF_A });
  const again = respond(browser, { url: "https://evil.test/i0.png", leaf: LEAF_B });
  await settle();
  assert.equal(captured(browser, again), true);
  assert.equal(sentinel.tabs.get(7).origins["https://evil.test"].level, "interception");
});

test("a sampled response of a claimed origin shows a second chain on the page", async () => {
  const { browser, sentinel } = await boot(host({ [LEAF_B]: "interception" }), { sample: 1 });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  respond(browser, { url: "https://cdn.test/1.js", leaf: LEAF_A });
  await settle();
  assert.equal(sentinel.tabs.get(7).level, "ok");
  // the same origin on another connection, intercepted: unseen until a response of it is sampled
  const unseen = respond(browser, { url: "https://cdn.test/2.js", leaf: LEAF_B });
  await settle();
  assert.equal(captured(browser, unseen), false);
  assert.equal(sentinel.tabs.get(7).level, "ok");
  sentinel.origins.random = () => 0.5 / 16; // below the 1-in-16 sample
  const sampled = respond(browser, { url: "https://cdn.test/3.js", leaf: LEAF_B });
  await settle();
  assert.equal(captured(browser, sampled), true);
  assert.equal(sentinel.origins.sampled, 1);
  assert.equal(sentinel.tabs.get(7).level, "interception");
});

test("a capture that did not judge its origin leaves the next response captured", async () => {
  let down = true;
  const judging = host({});
  const { browser, sentinel } = await boot((msg) => (msg.type === "check" && down ? { type: "error", id: msg.id, code: "internal", message: "down" } : judging(msg)), { sample: 1 });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  const failed = respond(browser, { url: "https://b.test/1.png", leaf: LEAF_B });
  await settle();
  assert.equal(sentinel.tabs.get(7).origins["https://b.test"].level, "unknown");
  down = false;
  const before = checks(browser).length;
  const retried = respond(browser, { url: "https://b.test/2.png", leaf: LEAF_B });
  await settle();
  assert.equal(captured(browser, failed) && captured(browser, retried), true, "a host failure is not a judgement");
  assert.equal(checks(browser).length, before + 1, "the host is asked again");
  const third = respond(browser, { url: "https://b.test/3.png", leaf: LEAF_B });
  assert.equal(captured(browser, third), false, "judged now");
  const broken = respond(browser, { url: "https://c.test/1.png", si: { ...securityInfo(LEAF_B), state: "broken" } });
  await settle();
  const afterBroken = respond(browser, { url: "https://c.test/2.png", leaf: LEAF_B });
  const skipped = respond(browser, { url: "https://c.test/3.png", leaf: LEAF_B });
  await settle();
  assert.deepEqual([broken, afterBroken, skipped].map((id) => captured(browser, id)), [true, true, false]);
  const none = respond(browser, { url: "https://d.test/1.png", si: undefined });
  await settle();
  assert.equal(captured(browser, none), true);
  const afterNone = respond(browser, { url: "https://d.test/2.png", leaf: LEAF_B });
  await settle();
  assert.equal(captured(browser, afterNone), true, "no security info is not a judgement");
});

test("PageOrigins: per tab and page, bounded, and a tab of unknown page captures everything", () => {
  const o = new PageOrigins({ random: () => 0.99, maxPerPage: 2 });
  assert.equal(o.wants(1, 5, "https://a"), true);
  assert.equal(o.wants(1, 5, "https://a"), false);
  assert.equal(o.wants(2, 5, "https://a"), true, "another tab");
  assert.equal(o.wants(1, 6, "https://a"), true, "another page of the tab");
  assert.equal(o.wants(1, 6, "https://a"), false);
  assert.equal(o.wants(1, null, "https://a"), true);
  assert.equal(o.wants(1, null, "https://a"), true, "no page known: never skipped");
  o.wants(1, 6, "https://b");
  assert.equal(o.wants(1, 6, "https://c") && o.wants(1, 6, "https://c"), true, "above maxPerPage nothing is claimed");
  o.release(1, 6, "https://a");
  assert.equal(o.wants(1, 6, "https://a"), true);
  o.forget(1);
  assert.equal(o.wants(1, 6, "https://b"), true);
});

test("an origin whose first response repeats a leaf judged on the page (another port, same host) is claimed too", async () => {
  const { browser, sentinel } = await boot(host({}), { sample: 1 });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  const first = respond(browser, { url: "https://a.test:8443/1.png", leaf: LEAF_A });
  await settle();
  const later = [2, 3, 4].map((i) => respond(browser, { url: `https://a.test:8443/${i}.png`, leaf: LEAF_A }));
  await settle();
  assert.equal(captured(browser, first), true);
  assert.deepEqual(later.map((id) => captured(browser, id)), [false, false, false],
    "a repeat is a judgement: the origin's other responses are not captured");
  assert.equal(sentinel.tabs.get(7).level, "ok");
});

test("the badge is set only where it changes, and every part again after a committed navigation", async () => {
  const { browser } = await boot(host({ [LEAF_B]: "interception" }), { sample: 1 });
  const sets = [];
  for (const name of ["setBadgeText", "setBadgeBackgroundColor", "setTitle"]) {
    const real = browser.action[name];
    browser.action[name] = (arg) => { sets.push(name); return real(arg); };
  }
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  const afterMain = sets.length;
  respond(browser, { url: "https://evil.test/1.png", leaf: LEAF_B });
  await settle();
  assert.equal(browser.badges.get(7).text, "!");
  const afterEvil = sets.length;
  assert.ok(afterEvil > afterMain && afterEvil - afterMain <= 3);
  // a second intercepted origin changes nothing that is drawn: no call
  respond(browser, { url: "https://evil2.test/1.png", leaf: LEAF_B });
  await settle();
  assert.equal(sets.length, afterEvil);
  // Firefox clears per-tab badge data on navigation: the commit redraws all three parts
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_B, commit: false });
  await settle();
  assert.equal(sets.length, afterEvil, "a response that has not committed draws nothing");
  browser.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://a.test/" });
  await settle();
  assert.deepEqual(sets.slice(afterEvil), ["setBadgeText", "setBadgeBackgroundColor", "setTitle"]);
  assert.equal(browser.badges.get(7).text, "!");
});

// Found by an adversarial review of PageOrigins: a cached response (the security info of an older
// handshake, perhaps on another network) must not stand for the live connections of its origin.
test("a cached first response does not claim its origin for the live responses", async () => {
  const { browser, sentinel } = await boot(host({ [LEAF_B]: "interception" }), { sample: 1 });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  respond(browser, { url: "https://cdn.test/app.js", type: "script", leaf: LEAF_A, fromCache: true });
  const cachedAgain = respond(browser, { url: "https://cdn.test/lib.js", type: "script", leaf: LEAF_A, fromCache: true });
  await settle();
  const live = [0, 1, 2].map((i) => respond(browser, { url: `https://cdn.test/api/${i}`, type: "xmlhttprequest", leaf: LEAF_B }));
  await settle();
  assert.equal(captured(browser, cachedAgain), false, "cached responses claim among themselves");
  assert.deepEqual(live.map((id) => captured(browser, id)), [true, false, false]);
  assert.equal(sentinel.tabs.get(7).origins["https://cdn.test"].level, "interception");
});

test("a main frame from the cache does not claim its origin for the live responses", async () => {
  const { browser, sentinel } = await boot(host({ [LEAF_B]: "interception" }), { sample: 1 });
  respond(browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_A, fromCache: true });
  await settle();
  const live = respond(browser, { url: "https://a.test/api/1", type: "xmlhttprequest", leaf: LEAF_B });
  await settle();
  assert.equal(captured(browser, live), true);
  assert.equal(sentinel.tabs.get(7).level, "interception");
});

test("the same page committed again without a main-frame response captures its origins afresh", async () => {
  const { browser, sentinel } = await boot(host({ [LEAF_B]: "interception" }), { sample: 1 });
  respond(browser, { url: "https://mail.test/", type: "main_frame", leaf: LEAF_A });
  await settle();
  respond(browser, { url: "https://api.test/1", type: "xmlhttprequest", leaf: LEAF_A });
  await settle();
  // a reload served by a service worker (no main_frame response), now on an intercepting network
  browser.webNavigation.onCommitted.fire({ tabId: 7, frameId: 0, url: "https://mail.test/" });
  await settle();
  const fresh = respond(browser, { url: "https://api.test/2", type: "xmlhttprequest", leaf: LEAF_B });
  await settle();
  assert.equal(captured(browser, fresh), true);
  assert.equal(sentinel.tabs.get(7).origins["https://api.test"].level, "interception");
});

test("an event page woken by tabs.onUpdated redraws the saved verdict, not an empty badge", async () => {
  const first = await boot(host({ [LEAF_B]: "interception" }));
  respond(first.browser, { url: "https://a.test/", type: "main_frame", leaf: LEAF_B });
  await settle();
  assert.equal(first.browser.badges.get(7).text, "!");
  await new Promise((r) => setTimeout(r, PERSIST_DELAY_MS + 20)); // the coalesced write
  const browser = fakeBrowser({ host: host({ [LEAF_B]: "interception" }), session: await first.browser.storage.session.get(null) });
  browser.badges.set(7, { ...first.browser.badges.get(7) });
  startBackground(browser, registerCapture);
  browser.tabs.onUpdated.fire(7, { url: "https://a.test/#/inbox" }); // the wake-up event, before ready() resolved
  await settle();
  assert.equal(browser.badges.get(7).text, "!");
});
