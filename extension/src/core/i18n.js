/**
 * Localized strings. Every user-visible string comes from `_locales/<lang>/messages.json` through
 * `i18n.getMessage` (MDN i18n, https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/Internationalization);
 * pages mark elements with `data-i18n="key"` and {@link localizeDocument} fills them as text.
 */

/**
 * Messages whose text names the browser, and their Chromium-family variants (Chrome, Chromium, Edge,
 * Brave share one build, so those say "the browser"). Every other message is the same everywhere.
 */
export const CHROMIUM_VARIANTS = Object.freeze({
  badge_title_browser_blocked: "badge_title_browser_blocked_chromium",
  explain_browser_blocked: "explain_browser_blocked_chromium",
  explain_no_security_info: "explain_no_security_info_chromium",
  help_host_unreachable: "help_host_unreachable_chromium",
  explain_blocked_refused_nowhere: "explain_blocked_refused_nowhere_chromium",
  explain_blocked_refused: "explain_blocked_refused_chromium",
  explain_blocked_banned_nowhere: "explain_blocked_banned_nowhere_chromium",
  explain_blocked_banned: "explain_blocked_banned_chromium",
  explain_blocked_installed: "explain_blocked_installed_chromium",
  explain_blocked_public: "explain_blocked_public_chromium",
  blocked_error: "blocked_error_chromium",
});

/**
 * The message variants for the running build, read off its manifest: a Chromium-family build has a
 * `background.service_worker` (extension/manifests/chromium.json), the Firefox build `background.scripts`.
 * @param {object|null} manifest  `runtime.getManifest()`
 * @returns {object|null}
 */
export function variantsFor(manifest) {
  return manifest?.background?.service_worker ? CHROMIUM_VARIANTS : null;
}

/**
 * The WebExtension API object in an extension page: Firefox's `browser`, else Chromium's `chrome`
 * (whose MV3 methods also return promises when given no callback).
 */
export function extensionApi() {
  return globalThis.browser ?? globalThis.chrome;
}

/**
 * A translator bound to an `i18n` API object.
 * @param {object} i18n  `browser.i18n`
 * @param {object|null} [variants]  key -> key to read instead ({@link variantsFor})
 * @returns {(key: string, subs?: (string|number)[]) => string}  returns the key itself when missing
 *   (a visible bug rather than an empty warning; the catalogue test keeps this from happening)
 */
export function translator(i18n, variants = null) {
  return (key, subs) => {
    const list = subs === undefined ? undefined : subs.map((s) => String(s ?? ""));
    const text = i18n.getMessage(variants?.[key] ?? key, list);
    return text || key;
  };
}

/** The UI language for `Intl` formatting (MDN i18n.getUILanguage). */
export function uiLanguage(i18n) {
  try {
    return i18n.getUILanguage() || "en";
  } catch {
    return "en";
  }
}

/**
 * Formats an ISO 8601 time (`2026-01-01T00:00:00Z`) or epoch milliseconds for the UI language.
 * Returns "" for a missing or unparsable value.
 */
export function formatDate(value, lang) {
  if (value === null || value === undefined || value === "") return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  // Certificate times are UTC; Intl names the zone in the user's language.
  return new Intl.DateTimeFormat(lang, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    timeZone: "UTC", timeZoneName: "short",
  }).format(d);
}

/** Formats a number for the UI language. */
export function formatNumber(value, lang) {
  return new Intl.NumberFormat(lang).format(value);
}

/**
 * Fills every `[data-i18n]` element's text and every `[data-i18n-title]` title, and sets
 * `<html lang>` and `dir`. Uses textContent only.
 */
export function localizeDocument(doc, t, lang) {
  for (const el of doc.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of doc.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  doc.documentElement.lang = lang;
  const dir = t("@@bidi_dir");
  doc.documentElement.dir = dir === "rtl" ? "rtl" : "ltr";
}
