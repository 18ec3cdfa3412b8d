#!/usr/bin/env node
/**
 * Renders the toolbar icons (extension/src/core/icon.js) from their SVG sources, build/icons/<state>.svg,
 * to extension/icons/toolbar/<state>-<size>.png with resvg (npm @resvg/resvg-js, pinned in package.json):
 * the same SVG and the same resvg version give the same bytes, so a test checks that the committed PNGs
 * equal a fresh render (tests/js/icons.test.mjs). The SVGs draw with paths and shapes only, no text, so
 * no font on the machine changes a pixel.
 *
 *   node build/make_icons.mjs           write the PNGs
 *   node build/make_icons.mjs --check   exit 1 when a committed PNG differs from a fresh render
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Resvg } from "@resvg/resvg-js";
import { ICON_SIZES, ICON_STATES } from "../extension/src/core/icon.js";
import { writeOrCheck } from "./fresh.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The SVG source of an icon state. */
export function sourceOf(state) {
  return join(ROOT, "build", "icons", `${state}.svg`);
}

/** The PNG written for an icon state and size (icon.js iconPath names the same file). */
export function targetOf(state, size) {
  return join(ROOT, "extension", "icons", "toolbar", `${state}-${size}.png`);
}

/** A PNG of `svg` `size` pixels wide (and high: the sources are square). */
export function render(svg, size) {
  return new Resvg(svg, { fitTo: { mode: "width", value: size }, font: { loadSystemFonts: false } }).render().asPng();
}

/** Every icon: [path, PNG bytes]. */
export function icons() {
  const out = [];
  for (const state of ICON_STATES) {
    const svg = readFileSync(sourceOf(state), "utf8");
    for (const size of ICON_SIZES) out.push([targetOf(state, size), render(svg, size)]);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeOrCheck(icons(), "build/make_icons.mjs", process.argv);
}
