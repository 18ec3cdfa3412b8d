/**
 * Verdict levels and how each one looks on the toolbar badge.
 *
 * The host replies with `level` in {ok, notice, interception, banned, unknown} (docs/protocol.md);
 * the extension adds `browser-blocked` (the browser refused the certificate, so no chain was
 * captured) and `pending` (a check is in flight). A page's badge shows the worst level among the
 * page's main frame, frames and subresources (docs/design.md, "Verdict model").
 *
 * Badge text and colour per tab: MDN action.setBadgeText / action.setBadgeBackgroundColor
 * (https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/API/action/setBadgeText).
 */

/** Levels from least to most severe, as used for "worst of the page". */
export const LEVEL_ORDER = Object.freeze([
  "ok", "pending", "unknown", "notice", "interception", "browser-blocked", "banned",
]);

/** Levels the host may send in a verdict. */
export const HOST_LEVELS = Object.freeze(["ok", "notice", "interception", "banned", "unknown"]);

/** Severity rank of a level; an unrecognised level ranks as `unknown` so it is never shown as safe. */
export function rank(level) {
  const i = LEVEL_ORDER.indexOf(level);
  return i === -1 ? LEVEL_ORDER.indexOf("unknown") : i;
}

/** The more severe of two levels (`null`/`undefined` loses to anything). */
export function worse(a, b) {
  if (a == null) return b;
  if (b == null) return a;
  return rank(b) > rank(a) ? b : a;
}

/** Levels at which an origin counts as intercepted and is listed in the popup. */
export function isIntercepted(level) {
  return level === "notice" || level === "interception" || level === "banned";
}

/**
 * Badge look per level: `text` and `title` are message keys in _locales (badge text is localized
 * too), `color` the badge background. `ok` has an empty badge (a quiet toolbar on normal pages)
 * and a tooltip saying what was checked.
 */
export const BADGE = Object.freeze({
  ok: { text: null, title: "badge_title_ok", color: "#2e7d32" },
  pending: { text: "badge_text_pending", title: "badge_title_pending", color: "#8c959f" },
  unknown: { text: "badge_text_unknown", title: "badge_title_unknown", color: "#57606a" },
  notice: { text: "badge_text_notice", title: "badge_title_notice", color: "#0969da" },
  interception: { text: "badge_text_interception", title: "badge_title_interception", color: "#d35400" },
  "browser-blocked": { text: "badge_text_browser_blocked", title: "badge_title_browser_blocked", color: "#6f42c1" },
  banned: { text: "badge_text_banned", title: "badge_title_banned", color: "#b00020" },
});

/** Message key naming each level in headings (popup, blocked page). */
export const LEVEL_NAME = Object.freeze({
  ok: "level_ok",
  pending: "level_pending",
  unknown: "level_unknown",
  notice: "level_notice",
  interception: "level_interception",
  "browser-blocked": "level_browser_blocked",
  banned: "level_banned",
});
