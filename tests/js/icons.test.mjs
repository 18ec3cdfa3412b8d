/**
 * The toolbar icon per level (issue 24 item 6): the committed PNGs are a fresh resvg render of their SVG
 * sources (build/make_icons.mjs), each state its own picture at each size, every level maps to a state
 * (neutral when not judged), and the badge code sets it at the single place the badge is drawn.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { icons, sourceOf, targetOf } from "../../build/make_icons.mjs";
import { ICON_SIZES, ICON_STATES, iconPath } from "../../extension/src/core/icon.js";
import { LEVEL_ORDER } from "../../extension/src/core/levels.js";
import { EXTENSION } from "./fake-browser.mjs";

test("every committed toolbar PNG equals a fresh render of its SVG source", () => {
  const fresh = icons();
  assert.equal(fresh.length, ICON_STATES.length * ICON_SIZES.length);
  for (const [target, png] of fresh) assert.ok(readFileSync(target).equals(png), `${target}: run node build/make_icons.mjs`);
});

test("each state is its own picture, at the size its name says, drawn without text", () => {
  for (const size of ICON_SIZES) {
    const seen = new Set();
    for (const state of ICON_STATES) {
      const png = readFileSync(targetOf(state, size));
      assert.equal(png.readUInt32BE(16), size, "IHDR width");
      assert.equal(png.readUInt32BE(20), size, "IHDR height");
      seen.add(png.toString("base64"));
      assert.doesNotMatch(readFileSync(sourceOf(state), "utf8"), /<text|font-family/);
    }
    assert.equal(seen.size, ICON_STATES.length);
  }
});

test("every level has an icon: neutral when not judged, one of its own for the others", () => {
  const state = (level) => /\/icons\/toolbar\/(\w+)-16\.png$/.exec(iconPath(level)[16])[1];
  assert.deepEqual(Object.fromEntries(LEVEL_ORDER.map((l) => [l, state(l)])), {
    ok: "ok", pending: "neutral", unknown: "neutral", notice: "notice", interception: "interception",
    "browser-blocked": "refused", banned: "banned",
  });
  assert.equal(state(null), "neutral");
  assert.equal(state("__proto__"), "neutral");
  for (const level of LEVEL_ORDER) for (const size of ICON_SIZES) assert.ok(existsSync(join(EXTENSION, iconPath(level)[size])));
});

test("the manifests' default toolbar icon is the neutral one (nothing judged yet)", () => {
  for (const browser of ["firefox", "chromium"]) {
    const m = JSON.parse(readFileSync(join(EXTENSION, "manifests", `${browser}.json`), "utf8"));
    assert.deepEqual(m.action.default_icon, { 16: "icons/toolbar/neutral-16.png", 32: "icons/toolbar/neutral-32.png" }, browser);
  }
});
