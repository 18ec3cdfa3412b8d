/**
 * The toolbar tooltip (issue 14): a browser-blocked page's tooltip says what the helper's probe found,
 * in every language, with certificate names bounded and free of control and bidi characters.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { translator } from "../../extension/src/core/i18n.js";
import { probeFinding, tooltip } from "../../extension/src/core/explain.js";
import { BADGE, LEVEL_ORDER } from "../../extension/src/core/levels.js";
import { NAME_MAX, displayName, stripUnsafe } from "../../extension/src/core/safetext.js";
import { fakeBrowser } from "./fake-browser.mjs";

const ERROR = "Peer’s Certificate issuer is not recognized.";

function blocked(probe) {
  return { level: "browser-blocked", url: "https://kz.test/", names: { host: "kz.test" },
    error: { code: "browser_blocked", message: ERROR }, probe };
}

const BANNED_PROBE = { level: "banned", category: "state-mitm", reason: "blocklist_spki",
  names: { host: "kz.test", root: "Qaznet Trust Network", entry: "Kazakhstan 2020" } };

test("displayName drops controls, bidi and zero-width characters, collapses whitespace, bounds the length", () => {
  assert.equal(displayName("Qaznet\u202e Trust\u200b\nNetwork\u0000\u2066"), "Qaznet Trust Network");
  assert.equal(displayName("a\u2028b\u2029c\u0085d\u001b[31me"), "a b c d[31me");
  assert.equal(displayName("  spaced \t out  "), "spaced out");
  assert.equal(displayName("lone \ud800 surrogate"), "lone surrogate");
  const long = displayName("N".repeat(500));
  assert.equal([...long].length, NAME_MAX);
  assert.ok(long.endsWith("…"));
  const emoji = displayName("😀".repeat(NAME_MAX + 5));
  assert.equal([...emoji].length, NAME_MAX, "cut by code points");
  assert.doesNotMatch(emoji, /[\ud800-\udbff](?![\udc00-\udfff])/, "no surrogate pair split");
  assert.equal(displayName(null), "");
  assert.equal(displayName(undefined), "");
  assert.equal(stripUnsafe("x\u202ey"), "xy");
});

test("each level has a badge style with its own colour", () => {
  assert.deepEqual(Object.keys(BADGE).sort(), [...LEVEL_ORDER].sort());
  const colours = Object.values(BADGE).map((s) => s.color.toLowerCase());
  assert.equal(new Set(colours).size, colours.length, colours.join(" "));
});

for (const lang of ["en", "ru", "kk"]) {
  const t = translator(fakeBrowser({ lang }).i18n);

  test(`${lang}: each level has its own badge title, a localised sentence`, () => {
    const titles = Object.values(BADGE).map((s) => t(s.title));
    assert.equal(new Set(titles).size, titles.length, titles.join("\n"));
    for (const title of titles) assert.match(title, /^RootSentinel: \S/);
  });

  test(`${lang}: a browser-blocked tooltip keeps the browser's error and adds the banned root the probe found`, () => {
    const title = tooltip(t, "badge_title_browser_blocked", blocked(BANNED_PROBE));
    const lines = title.split("\n");
    assert.equal(lines[0], t("badge_title_browser_blocked"));
    assert.ok(lines[1].includes(ERROR), lines[1]);
    assert.equal(lines.length, 3, title);
    assert.ok(lines[2].includes("Qaznet Trust Network"), lines[2]);
    assert.ok(lines[2].includes(t("category_state_mitm")), lines[2]);
    assert.doesNotMatch(title, /\$|tooltip_|category_/);
  });

  test(`${lang}: each probe finding reads differently, names the product it claims, and says when it is still probing`, () => {
    const probes = [
      BANNED_PROBE,
      { ...BANNED_PROBE, category: null, reason: "policy_banned" },
      { level: "interception", category: "unknown-interception", names: { root: "Acme Root" } },
      { level: "notice", category: "allowlisted", names: { root: "Corp Proxy Root" } },
      { level: "ok", category: "public", names: { root: "ISRG Root X1" } },
    ];
    const sentences = probes.map((p) => probeFinding(t, blocked(p))[0]);
    assert.equal(new Set(sentences).size, probes.length, sentences.join("\n"));
    for (const s of sentences) assert.doesNotMatch(s, /\$|tooltip_/);

    const named = probeFinding(t, blocked({ level: "interception", category: "antivirus",
      names: { root: "Avast Web/Mail Shield Root", product: "Avast Web Shield", vendor: "Avast" } }));
    assert.equal(named.length, 2);
    assert.ok(named[1].includes("Avast Web Shield"), named[1]);

    assert.deepEqual(probeFinding(t, blocked(null)), [t("probe_running")]);
    const failed = probeFinding(t, blocked({ level: "unknown", error: { code: "timeout" }, names: { host: "kz.test" } }));
    assert.deepEqual(failed, [t("explain_probe_failed", ["kz.test"])]);
    assert.deepEqual(probeFinding(t, { ...BANNED_PROBE, url: "https://kz.test/" }), [], "only for browser-blocked pages");
  });

  test(`${lang}: a hostile root name cannot reorder, break or flood the tooltip`, () => {
    const hostile = `\u202eevil\u202c\n\nFAKE: all clear\u200f ${"A".repeat(1000)}`;
    const title = tooltip(t, "badge_title_browser_blocked",
      blocked({ ...BANNED_PROBE, names: { root: hostile, product: `\u2067${"P".repeat(300)}` } }));
    assert.doesNotMatch(title, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff]/u);
    assert.equal(title.split("\n").length, 4, "names add no lines (title, error, finding, product)");
    assert.ok(title.length < 800, `bounded: ${title.length}`);
    assert.ok(title.includes("evil FAKE: all clear"), title);
  });
}
