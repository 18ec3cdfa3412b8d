/**
 * The toolbar icon per level (issue 24 item 6): the icon itself says how the page was judged, and the
 * badge (levels.js) is drawn on top of it. Six states, each a different shape and colour so that they can
 * be told apart at 16 px, with the badge covering the lower right and without colour vision:
 *
 *   neutral       grey outline shield, nothing inside   not judged (no state, checking, `unknown`)
 *   ok            dark shield with a check              judged, not intercepted
 *   notice        blue shield with an "i"               inspection root approved or acknowledged
 *   interception  orange shield with an eye             intercepted by a non-public root
 *   banned        red shield with an exclamation mark   banned root
 *   refused       purple shield with a bar              the browser refused the certificate
 *
 * The PNGs are rendered from `build/icons/*.svg` by `build/make_icons.mjs` (resvg); a test checks that the
 * committed files equal a fresh render. `action.setIcon` takes PNG in every browser (Chromium has no SVG
 * there): 16 and 32 px, for 1x and 2x screens (MDN action.setIcon, `path` as an object of sizes).
 */

/** Icon state per level; anything else (no state, `pending`, `unknown`) is `neutral`. */
export const ICON_STATE = Object.freeze({
  ok: "ok",
  notice: "notice",
  interception: "interception",
  banned: "banned",
  "browser-blocked": "refused",
});

/** Every icon state, for the build and the tests. */
export const ICON_STATES = Object.freeze(["neutral", "ok", "notice", "interception", "banned", "refused"]);

/** Rendered sizes, in pixels. */
export const ICON_SIZES = Object.freeze([16, 32]);

/**
 * The `path` argument of `action.setIcon` for a level (levels.js `shownLevel`): extension-absolute paths
 * of the icon state's PNGs by size.
 * @param {string|null|undefined} level
 * @returns {{16: string, 32: string}}
 */
export function iconPath(level) {
  const state = Object.hasOwn(ICON_STATE, level ?? "") ? ICON_STATE[level] : "neutral";
  return Object.fromEntries(ICON_SIZES.map((size) => [size, `/icons/toolbar/${state}-${size}.png`]));
}
