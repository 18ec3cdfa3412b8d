/**
 * Sentences composed from the host's codes (issue 7): every level, category and reason gives a
 * complete sentence in every language, with the host and the root name inserted and no placeholder
 * left over; dates follow the locale.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { translator, formatDate } from "../../extension/src/core/i18n.js";
import { blockedError, explainMore, explainRecord, kindLine, tooltip } from "../../extension/src/core/explain.js";
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
    assert.match(explainRecord(t, blocked), /ISCA Root/);
    assert.deepEqual(explainMore(t, blocked), []);
    assert.match(blockedError(t, blocked), /: e$/, "the browser's own error, once the probe has spoken");
    assert.match(tooltip(t, "badge_title_banned", { level: "ok", names: { host: "a", root: "b" } }), /^RootSentinel/);
  });
}

test("who a banned root belongs to is said once, in the kind line; the sentence names the root (issue 24 item 4)", () => {
  const t = translator(fakeBrowser({ lang: "en" }).i18n);
  const rec = { level: "banned", category: "malware-mitm", reason: "blocklist_spki",
    names: { host: "a.test", root: "Superfish, Inc.", entry: "Superfish (Lenovo, Komodia engine): Superfish, Inc.",
      product: "Superfish", vendor: "Superfish, Inc. (Komodia engine)" },
    interceptor: { product: "Superfish", vendor: "Superfish, Inc. (Komodia engine)", kind: "adware", by: "subject_name" } };
  const s = explainRecord(t, rec);
  assert.equal(s, "Your connection to a.test is intercepted with “Superfish, Inc.”,"
    + " a root whose private key is public. Anyone on this network can read and change what you send.");
  assert.equal(kindLine(t, rec), "Adware or malware root with a leaked key: Superfish (Lenovo, Komodia engine)");
  assert.deepEqual(explainMore(t, rec), [], "no second line naming the product");
  const all = [kindLine(t, rec), s].join(" ");
  assert.equal(all.split("Komodia").length - 1, 1, all);
});

test("the catalogue's kinds for banned roots are named, with their owner; an unknown kind falls back to the category", () => {
  const t = translator(fakeBrowser({ lang: "en" }).i18n);
  const banned = (interceptor, category = "state-mitm") => ({ level: "banned", category, reason: "blocklist_spki",
    names: { host: "h.test", root: "R" }, interceptor });
  assert.equal(kindLine(t, banned({ kind: "state", owner: "Republic of Kazakhstan", product: "", vendor: "" })),
    "Government interception: Republic of Kazakhstan");
  assert.equal(kindLine(t, banned({ kind: "vendor", owner: "Dell", product: "eDellRoot" }, "malware-mitm")),
    "Adware or malware root with a leaked key: eDellRoot (Dell)");
  assert.equal(kindLine(t, banned({ kind: "compromised-ca", owner: "DigiNotar" }, "distrusted-ca")),
    "Compromised certificate authority: DigiNotar", "the kind wins over the verdict's category");
  assert.equal(kindLine(t, banned({ kind: "distrusted-ca", owner: "WoSign" }, "compromised-ca")),
    "Distrusted certificate authority: WoSign");
  assert.equal(kindLine(t, banned({ kind: "something-new", owner: "X" }, "distrusted-ca")),
    "Distrusted certificate authority: X", "an unknown kind: the verdict's category");
  assert.equal(kindLine(t, banned(null)), "Government interception");
  assert.match(explainRecord(t, banned({ kind: "compromised-ca", owner: "DigiNotar" }, "distrusted-ca")), /was compromised/);
  const hostile = kindLine(t, banned({ kind: "state", owner: "Evil\u202e\n<b>" }));
  assert.doesNotMatch(hostile, /[\u202e\n]/);
});

test("a C=KZ private root has one story: the government-interception kind, sentence and advice (issue 24 item 2)", () => {
  for (const lang of ["en", "ru", "kk"]) {
    const t = translator(fakeBrowser({ lang }).i18n);
    const rec = { level: "interception", category: "unknown-interception", reason: "kz_issuer",
      names: { host: "bank.kz", root: "Example KZ Root CA" } };
    assert.equal(kindLine(t, rec), t("kind_kz_issuer"));
    const s = explainRecord(t, rec);
    assert.ok(s.includes("C=KZ") && s.includes("Example KZ Root CA") && s.includes("bank.kz"), s);
    assert.notEqual(kindLine(t, rec), t("category_unknown_interception"));
  }
  const t = translator(fakeBrowser({ lang: "en" }).i18n);
  assert.match(kindLine(t, { level: "interception", reason: "kz_issuer", names: {} }), /Government interception/);
  assert.match(explainRecord(t, { level: "interception", reason: "kz_issuer", names: { host: "h", root: "r" } }), /\(C=KZ\), a root that is not publicly trusted/);
});

// issue 24 item 1: a refused certificate is "the browser protected you" unless the helper found its root installed here
const PROBE_ROOT = { host: "nas.local", root: "nas.local" };
function refused(level, installed) {
  const verdict = installed === undefined ? {} : { installed_in: installed };
  return { level: "browser-blocked", url: "https://nas.local/", names: { host: "nas.local" },
    error: { code: "browser_blocked", message: "SEC_ERROR_UNKNOWN_ISSUER" },
    probe: { level, category: level === "banned" ? "state-mitm" : "unknown-interception", reason: "non_public_anchor",
      names: PROBE_ROOT, verdict } };
}
const HERE = [{ store: "nss", location: "sql:/home/a/.pki/nssdb", remove: "certutil -D -d sql:/home/a/.pki/nssdb -n nas" }];

for (const lang of ["en", "ru", "kk"]) {
  const t = translator(fakeBrowser({ lang }).i18n);
  test(`${lang}: a refused certificate reads "the browser protected you" unless its root is installed here`, () => {
    const cases = [refused("interception", []), refused("interception", undefined), refused("banned", []),
      refused("banned", undefined), refused("interception", HERE), refused("banned", HERE), refused("ok", undefined)];
    const sentences = cases.map((c) => explainRecord(t, c));
    assert.equal(new Set(sentences).size, cases.length - 1, "installed: one sentence whatever the level");
    for (const s of sentences) {
      assert.ok(s.includes("nas.local"), s);
      assert.doesNotMatch(s, /\$|explain_/);
    }
    for (const c of cases.slice(0, 4)) assert.equal(kindLine(t, c), t("kind_refused"));
    assert.equal(kindLine(t, cases[4]), t("kind_installed_here", [t("category_unknown_interception")]));
    assert.equal(kindLine(t, cases[5]), t("kind_installed_here", [t("category_state_mitm")]));
    if (lang === "en") {
      assert.match(sentences[0], /nothing on this computer trusts\. Firefox protected you/);
      assert.match(sentences[1], /which Firefox does not trust/);
      assert.match(sentences[2], /banned root .* not installed on this computer/);
      assert.match(sentences[4], /is installed on this computer/);
      for (const s of sentences.slice(0, 4)) assert.doesNotMatch(s, /Your connection .* is intercepted/);
    }
  });
}

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
      assert.equal(kindLine(t, rec), t(`category_${c.category.replace("-", "_")}`), "the kind, not the product again");
      seen.add(s);
    }
    assert.equal(seen.size, NAMED.length);
    const byKey = explainRecord(t, { level: "interception", category: "dev-tool", names: { host: "h.test", root: "localhost",
      product: "webpack-dev-server", vendor: "webpack-dev-server project" }, interceptor: { by: "spki_sha256" } });
    assert.ok(byKey.includes("webpack-dev-server") && byKey.includes("localhost"), byKey);
    const banned = { level: "banned", category: "malware-mitm", reason: "blocklist_spki",
      names: { host: "a.test", root: "Superfish, Inc.", product: "Superfish", vendor: "Superfish, Inc." } };
    assert.ok(kindLine(t, banned).includes("Superfish") && !kindLine(t, banned).includes("$"));
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
