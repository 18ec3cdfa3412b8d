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
