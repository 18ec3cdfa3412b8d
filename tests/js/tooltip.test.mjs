/**
 * The toolbar tooltip (issue 14): a browser-blocked page's tooltip says what the helper's probe found,
 * in every language, with certificate names bounded and free of control and bidi characters; and which
 * level (badge code, colour, icon) a refused page is shown at (issue 24 item 1).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { translator } from "../../extension/src/core/i18n.js";
import { kindLine, tooltip } from "../../extension/src/core/explain.js";
import { BADGE, LEVEL_ORDER, badgeStyle, shownLevel } from "../../extension/src/core/levels.js";
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

  test(`${lang}: a browser-blocked tooltip says what the probe found: the browser protected you, or a root installed here`, () => {
    const lines = tooltip(t, "badge_title_browser_blocked", blocked(BANNED_PROBE)).split("\n");
    assert.deepEqual(lines.slice(0, 2), [t("badge_title_browser_blocked"), t("kind_refused")]);
    assert.equal(lines.length, 3);
    assert.ok(lines[2].includes("Qaznet Trust Network") && lines[2].includes("kz.test"), lines[2]);
    const here = blocked({ ...BANNED_PROBE, verdict: { installed_in: [{ store: "nss", location: "l", remove: "r" }] } });
    const style = badgeStyle({ level: "browser-blocked" }, here);
    assert.equal(style.level, "banned");
    const installed = tooltip(t, style.title, here).split("\n");
    assert.deepEqual(installed.slice(0, 2), [t("badge_title_banned"),
      t("kind_installed_here", [t("kind_with_who", [t("category_state_mitm"), "Kazakhstan 2020"])])]);
    assert.doesNotMatch(installed.join("\n"), /\$|tooltip_|kind_|category_/);
    // still probing: the browser's own error
    const pending = tooltip(t, "badge_title_browser_blocked", blocked(null)).split("\n");
    assert.ok(pending[1].includes(ERROR), pending[1]);
  });

  test(`${lang}: a root the person acknowledged has its own title`, () => {
    const rec = { level: "notice", category: "acknowledged", names: { host: "dev.test", root: "mkcert development CA" } };
    const style = badgeStyle({ level: "notice" }, rec);
    assert.equal(style.text, "badge_text_notice");
    assert.notEqual(t(style.title), t("badge_title_notice"));
    assert.equal(kindLine(t, rec), "", "the level line says it; no kind without a catalogue match");
    assert.equal(kindLine(t, { ...rec, interceptor: { kind: "dev-tool", product: "mkcert" } }), t("category_dev_tool"));
  });

  test(`${lang}: a hostile root name cannot reorder, break or flood the tooltip`, () => {
    const hostile = `\u202eevil\u202c\n\nFAKE: all clear\u200f ${"A".repeat(1000)}`;
    const title = tooltip(t, "badge_title_browser_blocked",
      blocked({ ...BANNED_PROBE, names: { root: hostile, product: `\u2067${"P".repeat(300)}` } }));
    assert.doesNotMatch(title, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff]/u);
    assert.equal(title.split("\n").length, 3, "names add no lines (title, kind, finding)");
    assert.ok(title.length < 800, `bounded: ${title.length}`);
    assert.ok(title.includes("evil FAKE: all clear"), title);
  });
}

test("the shown level: a refused page is `browser-blocked` unless its root is installed here, then the probe's level", () => {
  const rec = (level, installed) => ({ level: "browser-blocked", probe: { level, verdict: installed === undefined ? {} : { installed_in: installed } } });
  const state = { level: "browser-blocked" };
  assert.equal(shownLevel(state, rec("interception", [])), "browser-blocked");
  assert.equal(shownLevel(state, rec("banned", undefined)), "browser-blocked");
  assert.equal(shownLevel(state, rec("interception", [{ store: "nss" }])), "interception");
  assert.equal(shownLevel(state, rec("banned", [{ store: "nss" }])), "banned");
  assert.equal(shownLevel(state, rec("ok", [{ store: "nss" }])), "browser-blocked");
  assert.equal(shownLevel({ level: "interception" }, { level: "interception" }), "interception");
  assert.equal(shownLevel(null, null), null);
  assert.equal(badgeStyle(null, null).level, "unknown");
});
