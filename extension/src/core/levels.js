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

/**
 * Where the root a refused certificate came from is installed on this computer: the `installed_in` of the
 * helper's probe (docs/protocol.md: the extension asks for it when the browser refused the page), as
 * `true` (installed somewhere: listed), `false` (the finished scan found it in no store) or `null` (unknown:
 * no probe yet, the scan did not finish, or the chain did not carry the root).
 * @param {object|null} rec  a browser-blocked tab-state record
 * @returns {boolean|null}
 */
export function refusedRootInstalled(rec) {
  const list = rec?.probe?.verdict?.installed_in;
  if (!Array.isArray(list)) return null;
  return list.length > 0;
}

/**
 * The level a page is shown at (badge code, colour, icon): its own level, except a page the browser refused
 * whose root the helper found installed on this computer, which is shown at the probe's level (`!!` banned,
 * `!` interception): "a root installed here intercepts" is not "the browser protected you" (issue 24 item 1).
 * @param {object|null} state  tab state ({level, main, origins})
 * @param {object|null} rec  its worst record (sentinel.js worstRecord)
 * @returns {string|null}
 */
export function shownLevel(state, rec) {
  const level = state?.level ?? null;
  if (level === "browser-blocked" && rec?.level === "browser-blocked" && refusedRootInstalled(rec)
      && ["banned", "interception", "notice"].includes(rec.probe?.level)) return rec.probe.level;
  return level;
}

/**
 * The badge of a page: {@link BADGE} of its {@link shownLevel}, with the tooltip title of a root the person
 * acknowledged ("I know this root") in place of the organisation's notice.
 * @returns {{text: string|null, title: string, color: string, level: string}}
 */
export function badgeStyle(state, rec) {
  const level = shownLevel(state, rec) ?? "unknown";
  const style = BADGE[level] ?? BADGE.unknown;
  const acknowledged = level === "notice" && (rec?.category === "acknowledged" || rec?.probe?.category === "acknowledged");
  return { ...style, title: acknowledged ? "badge_title_acknowledged" : style.title, level: BADGE[level] ? level : "unknown" };
}
