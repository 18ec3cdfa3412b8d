/** Settings: managed storage wins key by key; malformed values are ignored, never trusted. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadSettings, policyFromManaged, saveLocal } from "../../extension/src/core/settings.js";
import { fakeBrowser } from "./fake-browser.mjs";

test("defaults without local or managed settings (no managed manifest)", async () => {
  const s = await loadSettings(fakeBrowser().storage);
  assert.deepEqual(s, { mode: "warn", notifications: true, capture: "probe", probing: true, locked: [], policy: null,
    allowAcknowledge: true, acknowledged: [] });
});

test("roots the person acknowledged are sent unless managed policy forbids it (issue 24 item 5)", async () => {
  const a = "AB".repeat(32);
  const local = { acknowledged: [{ spki_sha256: a, name: "mkcert dev", added: 1 }, { spki_sha256: "nope" }, { spki_sha256: a.toLowerCase() }, null] };
  let s = await loadSettings(fakeBrowser({ local }).storage);
  assert.deepEqual([s.allowAcknowledge, s.acknowledged], [true, [a.toLowerCase()]]);
  s = await loadSettings(fakeBrowser({ local, managed: { allow_user_acknowledge: false } }).storage);
  assert.deepEqual([s.allowAcknowledge, s.acknowledged], [false, []]);
  assert.equal(s.policy, null, "the switch is not a host policy: the extension simply sends nothing");
});

test("local settings apply; managed ones override them; malformed values are dropped", async () => {
  const storage = fakeBrowser({
    local: { mode: "enforce", notifications: false },
    managed: { mode: "block-everything", notifications: true },
  }).storage;
  const s = await loadSettings(storage);
  assert.equal(s.mode, "enforce", "an invalid managed mode does not override a valid local one");
  assert.equal(s.notifications, true);
  assert.deepEqual(s.locked, ["notifications"]);
});

test("the hello policy keeps only well-formed fingerprints and reasons", () => {
  const spki = "AB".repeat(32);
  const cert = "cd".repeat(32);
  assert.deepEqual(policyFromManaged({
    allow_spki_sha256: [spki, "zz", 42],
    banned: [{ spki_sha256: spki, reason: "old proxy" }, { cert_sha256: cert }, { spki_sha256: "short" }, null, "x"],
  }), {
    allow_spki_sha256: [spki.toLowerCase()],
    banned: [{ spki_sha256: spki.toLowerCase(), reason: "old proxy" }, { cert_sha256: cert, reason: "policy" }],
  });
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  assert.deepEqual(policyFromManaged({ allow_roots_pem: [pem, "plain", 7], banned: [{ pem, reason: "r" }, { pem: "x" }] }),
    { allow_roots_pem: [pem], banned: [{ pem, reason: "r" }] });
  assert.equal(policyFromManaged({}), null);
  assert.equal(policyFromManaged({ allow_spki_sha256: "not a list" }), null);
});

test("the host's system config applies over local settings and under managed ones (issue 23 item 4)", async () => {
  const host = { mode: "enforce", notifications: false, probing: false, audit: true };
  let s = await loadSettings(fakeBrowser({ local: { mode: "warn", notifications: true } }).storage, host);
  assert.deepEqual([s.mode, s.notifications, s.probing], ["enforce", false, false]);
  assert.deepEqual(s.locked.sort(), ["mode", "notifications"], "config keys are locked on the options page");
  s = await loadSettings(fakeBrowser({ managed: { mode: "warn", probing: true } }).storage, host);
  assert.deepEqual([s.mode, s.notifications, s.probing], ["warn", false, true], "managed storage wins where both set a key");
  s = await loadSettings(fakeBrowser({ local: { acknowledged: [{ spki_sha256: "ab".repeat(32) }] } }).storage,
    { allow_user_acknowledge: false });
  assert.deepEqual([s.allowAcknowledge, s.acknowledged], [false, []]);
});

test("probing and audit from managed storage go to the host in hello's policy; a person cannot set probing", async () => {
  assert.deepEqual(policyFromManaged({ probing: false, audit: false }), { probing: false, audit: false });
  assert.deepEqual(policyFromManaged({ probing: "no", audit: 0 }), null);
  const b = fakeBrowser();
  await saveLocal(b.storage, { probing: false, mode: "enforce" });
  assert.deepEqual(await b.storage.local.get(["probing", "mode"]), { mode: "enforce" });
});
