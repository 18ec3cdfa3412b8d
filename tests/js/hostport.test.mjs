/** HostPort: ids, per-request timeouts, error replies, disconnects and backoff. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HostPort, HostError } from "../../extension/src/core/hostport.js";
import { fakeBrowser, settle } from "./fake-browser.mjs";

test("replies are matched to requests by id, in any order, after a hello", async () => {
  const held = [];
  const browser = fakeBrowser({ host: (msg, port) => { held.push([msg, port]); } });
  const hp = new HostPort({ runtime: browser.runtime, name: "io.rootsentinel.host", hello: () => ({ type: "hello", client: "t" }), timeoutMs: 200 });
  const a = hp.request({ type: "check", chain: ["AA=="] });
  const b = hp.request({ type: "check", chain: ["BB=="] });
  assert.deepEqual(browser.native.sent.map((m) => [m.type, m.id]), [["hello", 1], ["check", 2], ["check", 3]]);
  const port = held[0][1];
  port.onMessage.fire({ type: "verdict", id: 3, level: "banned" });
  port.onMessage.fire({ type: "verdict", id: 2, level: "ok" });
  port.onMessage.fire({ type: "verdict", id: 99, level: "ok" }); // unknown id: ignored
  assert.equal((await a).level, "ok");
  assert.equal((await b).level, "banned");
});

test("an error reply rejects with the host's code; a silent host times out", async () => {
  const browser = fakeBrowser({
    host: (msg) => (msg.chain?.[0] === "bad" ? { type: "error", id: msg.id, code: "bad_base64", message: "x" } : undefined),
  });
  const hp = new HostPort({ runtime: browser.runtime, name: "h", timeoutMs: 20 });
  await assert.rejects(hp.request({ type: "check", chain: ["bad"] }), (e) => e instanceof HostError && e.code === "bad_base64");
  await assert.rejects(hp.request({ type: "check", chain: ["AA=="] }), (e) => e.code === "timeout");
  assert.equal(hp.pending.size, 0);
});

test("a disconnect fails what is in flight, then requests fail fast until the backoff delay passes", async () => {
  let now = 1000;
  const browser = fakeBrowser({ host: () => undefined });
  const statuses = [];
  const hp = new HostPort({ runtime: browser.runtime, name: "h", now: () => now, backoffMs: [500, 2000], onStatus: (s) => statuses.push(s) });
  const inflight = hp.request({ type: "check", chain: ["AA=="] });
  browser.native.ports[0].crash("No such native application h");
  await assert.rejects(inflight, (e) => e.code === "host_unreachable" && /No such native application/.test(e.message));
  assert.equal(hp.connected, false);
  assert.equal(statuses.at(-1).error, "No such native application h");
  await assert.rejects(hp.request({ type: "check", chain: ["AA=="] }), (e) => e.code === "host_unreachable");
  assert.equal(browser.native.ports.length, 1, "no reconnect during backoff");
  now += 500;
  hp.request({ type: "check", chain: ["AA=="] }).catch(() => {});
  assert.equal(browser.native.ports.length, 2, "reconnects once the delay has passed");
  browser.native.ports[1].crash();
  await settle();
  assert.equal(hp.retryAt, now + 2000, "the second failure waits longer");
});

test("after 'host not found', the first navigation once the host is installed connects at once (issue 24 item 10)", async () => {
  let now = 1000;
  let installed = false;
  const browser = fakeBrowser({ host: (msg) => (installed && msg.type === "hello" ? { type: "hello", id: msg.id, version: "t" } : undefined) });
  const connectNative = browser.runtime.connectNative.bind(browser.runtime);
  browser.runtime.connectNative = (name) => {
    const port = connectNative(name);
    if (!installed) setTimeout(() => port.crash(`No such native application ${name}`), 0);
    return port;
  };
  const hp = new HostPort({ runtime: browser.runtime, name: "io.rootsentinel.host", now: () => now });
  for (let i = 0; i < 5; i += 1) { hp.connect({ force: true }); await settle(); }
  assert.ok(hp.retryAt - now >= 16000, "five failures: the back-off is past 16 s");
  installed = true;  // rootsentinel install --browser firefox
  now += 100;        // the person reloads the page at once
  assert.equal(hp.navigated(), true);
  await settle();
  assert.equal(hp.status().hello?.version, "t");
  assert.equal(hp.failures, 0);
});

test("a host that crashes keeps its back-off on navigations", async () => {
  let now = 1000;
  const browser = fakeBrowser({ host: () => undefined });
  const hp = new HostPort({ runtime: browser.runtime, name: "h", now: () => now, backoffMs: [5000] });
  hp.connect();
  browser.native.ports[0].crash("Native application tried to send a message of 1734960488 bytes");
  await settle();
  assert.equal(hp.navigated(), false);
  assert.equal(browser.native.ports.length, 1, "no new process for a host that crashed");
});

test("the background retries a missing host on a main-frame navigation", async () => {
  const { startBackground } = await import("../../extension/src/core/background.js");
  let installed = false;
  const browser = fakeBrowser({ host: (msg) => (installed && msg.type === "hello" ? { type: "hello", id: msg.id, version: "t" } : undefined) });
  const connectNative = browser.runtime.connectNative.bind(browser.runtime);
  browser.runtime.connectNative = (name) => {
    const port = connectNative(name);
    if (!installed) setTimeout(() => port.crash(`No such native application ${name}`), 0);
    return port;
  };
  startBackground(browser, () => {});
  await settle(10);
  const before = browser.native.ports.length;
  installed = true;
  browser.webNavigation.onBeforeNavigate.fire({ tabId: 1, frameId: 0, url: "https://a.test/" });
  await settle(10);
  assert.equal(browser.native.ports.length, before + 1);
  assert.equal(browser.native.sent.filter((m) => m.type === "hello").length, before + 1);
});
