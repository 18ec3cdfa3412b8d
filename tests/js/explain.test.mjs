/**
 * Sentences composed from the host's codes (issue 7): every level, category and reason gives a
 * complete sentence in every language, with the host and the root name inserted and no placeholder
 * left over; dates follow the locale.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { translator, formatDate } from "../../extension/src/core/i18n.js";
import { explainMore, explainRecord, interceptorText, tooltip } from "../../extension/src/core/explain.js";
import { fakeBrowser } from "./fake-browser.mjs";

const CASES = [
  { level: "banned", category: "state-mitm", reason: "blocklist_spki" },
  { level: "banned", category: "malware-mitm", reason: "blocklist_spki" },
  { level: "banned", category: "compromised-ca", reason: "blocklist_cert" },
  { level: "banned", category: "distrusted-ca", reason: "blocklist_issuer" },
  { level: "banned", category: "something-new", reason: "blocklist_cert" },
  { level: "banned", category: null, reason: "policy_banned" },
  { level: "interception", category: "antivirus", reason: "non_public_anchor" },
  { level: "interception", category: "corporate-proxy", reason: "non_public_anchor" },
  { level: "interception", category: "dev-tool", reason: "non_public_anchor" },
  { level: "interception", category: "unknown-interception", reason: "kz_issuer" },
  { level: "notice", category: "allowlisted", reason: "allowlisted_root" },
  { level: "ok", category: "public", reason: "public_anchor" },
  { level: "banned", category: "state-mitm", reason: "banned_name" },
  { level: "unknown", category: null, reason: "incomplete_chain" },
  { level: "unknown", category: null, reason: "formerly_public_root" },
];

for (const lang of ["en", "ru", "kk"]) {
  const t = translator(fakeBrowser({ lang }).i18n);

  test(`${lang}: every verdict gives a full sentence naming the host and the root`, () => {
    const seen = new Set();
    for (const c of CASES) {
      const s = explainRecord(t, { ...c, names: { host: "mail.example.kz", root: "Qaznet Trust Network", entry: "KZ 2019" } });
      assert.ok(s.includes("mail.example.kz"), `${lang} ${c.level}/${c.category}: ${s}`);
      assert.ok(s.includes("Qaznet Trust Network"), `${lang} ${c.level}/${c.category}: ${s}`);
      assert.doesNotMatch(s, /\$|explain_/, `${lang}: unreplaced placeholder or missing key in "${s}"`);
      seen.add(s);
    }
    assert.equal(seen.size, CASES.length, "each case reads differently");
  });

  test(`${lang}: failures explain themselves and the unreachable host says how to fix it`, () => {
    const unreachable = { level: "unknown", url: "https://bank.test/", error: { code: "host_unreachable", message: "x" } };
    assert.match(explainRecord(t, unreachable), /bank\.test/);
    assert.match(explainMore(t, unreachable).join(" "), /rootsentinel install --browser firefox/);
    for (const rec of [
      { level: "unknown", reason: "insecure", names: { host: "h.test" } },
      { level: "unknown", error: { code: "timeout" }, names: { host: "h.test" } },
      { level: "unknown", error: { code: "bad_der" }, names: { host: "h.test" } },
      { level: "browser-blocked", error: { message: "SEC_ERROR" }, names: { host: "h.test" } },
      { level: "pending", names: { host: "h.test" } },
    ]) {
      const s = explainRecord(t, rec);
      assert.match(s, /h\.test/);
      assert.doesNotMatch(s, /\$|explain_/);
    }
    const blocked = { level: "browser-blocked", names: { host: "kz.test" }, error: { message: "e" },
      probe: { level: "banned", category: "state-mitm", names: { host: "kz.test", root: "ISCA Root" } } };
    assert.match(explainMore(t, blocked)[0], /ISCA Root/);
    assert.match(tooltip(t, "badge_title_banned", { level: "ok", names: { host: "a", root: "b" } }), /^RootSentinel/);
  });
}

test("the blocklist entry is not repeated with the root's own name", () => {
  const t = translator(fakeBrowser({ lang: "en" }).i18n);
  const s = explainRecord(t, { level: "banned", category: "malware-mitm", reason: "blocklist_spki",
    names: { host: "a.test", root: "Superfish, Inc.", entry: "Superfish (Lenovo, Komodia engine): Superfish, Inc." } });
  assert.equal(s, "Your connection to a.test is intercepted with “Superfish, Inc.” (Superfish (Lenovo, Komodia engine)),"
    + " a root whose private key is public. Anyone on this network can read and change what you send.");
});

test("validity dates are formatted for the locale", () => {
  assert.equal(formatDate("2034-05-07T16:25:26Z", "en"), "May 7, 2034, 04:25 PM UTC");
  assert.match(formatDate("2034-05-07T16:25:26Z", "ru"), /^7 мая 2034/);
  assert.match(formatDate("2034-05-07T16:25:26Z", "kk"), /мам\./);
  assert.equal(formatDate(null, "en"), "");
  assert.equal(formatDate("not a date", "en"), "");
});

// The catalogue names who a root looks like (issue 12): every kind, in every language, says the product
// and that this is only what the root's name claims; a banned root keeps its sentence and gains one.
const NAMED = [
  { category: "antivirus", product: "Kaspersky", vendor: "AO Kaspersky Lab" },
  { category: "corporate-proxy", product: "Zscaler", vendor: "Zscaler, Inc." },
  { category: "dev-tool", product: "mitmproxy", vendor: "mitmproxy project" },
  { category: "parental-control", product: "Qustodio", vendor: "Qustodio" },
  { category: "adware", product: "PrivDog", vendor: "Adtrustmedia (Comodo)" },
];

for (const lang of ["en", "ru", "kk"]) {
  const t = translator(fakeBrowser({ lang }).i18n);

  test(`${lang}: an interception the catalogue recognised names the product and says it is a claim`, () => {
    const seen = new Set();
    for (const c of NAMED) {
      const rec = { level: "interception", category: c.category, reason: "non_public_anchor",
        names: { host: "bank.test", root: "Root <b>X</b>", product: c.product, vendor: c.vendor },
        verdict: { interceptor: { product: c.product, vendor: c.vendor, kind: c.category, by: "subject_name" } } };
      const s = explainRecord(t, rec);
      for (const part of ["bank.test", "Root <b>X</b>", c.product]) assert.ok(s.includes(part), `${lang} ${c.category}: ${s}`);
      assert.doesNotMatch(s, /\$|explain_/);
      const unnamed = explainRecord(t, { ...rec, names: { host: "bank.test", root: "Root <b>X</b>" }, verdict: {} });
      assert.notEqual(s, unnamed);
      const who = interceptorText(t, rec);
      assert.ok(who.includes(c.product) && who.includes(c.vendor), who);
      seen.add(s);
    }
    assert.equal(seen.size, NAMED.length);
    const byKey = explainRecord(t, { level: "interception", category: "dev-tool", names: { host: "h.test", root: "localhost",
      product: "webpack-dev-server", vendor: "webpack-dev-server project" }, interceptor: { by: "spki_sha256" } });
    assert.ok(byKey.includes("webpack-dev-server") && byKey.includes("localhost"), byKey);
    assert.notEqual(interceptorText(t, { names: { product: "p", vendor: "v" }, interceptor: { by: "spki_sha256" } }),
      interceptorText(t, { names: { product: "p", vendor: "v" } }));
    assert.equal(interceptorText(t, { level: "interception", names: { host: "h", root: "r" } }), "");
    const banned = { level: "banned", category: "malware-mitm", reason: "blocklist_spki",
      names: { host: "a.test", root: "Superfish, Inc.", entry: "Superfish", product: "Superfish", vendor: "Superfish, Inc." } };
    assert.ok(explainMore(t, banned).some((line) => line.includes("Superfish") && !line.includes("$")));
  });
}

for (const lang of ["en", "ru", "kk"]) {
  const t = translator(fakeBrowser({ lang }).i18n);
  test(`${lang}: issue 11 reasons have their own sentences`, () => {
    const names = { host: "shop.example", root: "ISRG Root X1", entry: "Qaznet" };
    const generic = explainRecord(t, { level: "unknown", reason: "something_else", names });
    const seen = new Set([generic]);
    for (const reason of ["unparseable_leaf", "incomplete_chain", "formerly_public_root"]) {
      const s = explainRecord(t, { level: "unknown", category: null, reason, names });
      assert.ok(s.includes("shop.example"), `${lang} ${reason}: ${s}`);
      assert.doesNotMatch(s, /\$|explain_/, `${lang}: ${s}`);
      seen.add(s);
    }
    assert.equal(seen.size, 4, "each reason reads differently from the generic unknown sentence");
    assert.ok(explainRecord(t, { level: "unknown", reason: "formerly_public_root", names }).includes("ISRG Root X1"));
  });
}
