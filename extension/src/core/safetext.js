/**
 * Attacker-controlled text (certificate names, product names from a root's claim) made safe to show in
 * places that render it as plain text but lay it out as one line: the badge tooltip. The rule is the
 * host's (native_host/textsafe.py): a character of general category Cc (controls), Cf (format: bidi
 * controls, zero-width characters), Zl / Zp (line and paragraph separators) or Cs (a lone surrogate),
 * and every UAX #9 bidi control, is unsafe. The extension drops those instead of escaping them (the
 * user reads a name, not a byte dump), turns runs of whitespace into one space, and bounds the length.
 */

/** UAX #9 section 2 explicit directional formatting characters (all Cf today; listed so the rule does not depend on it). */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** One character of the unsafe set (module doc), as one test. */
const UNSAFE_CHAR = /^(?:[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]|[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069])$/u;

/** True when the one character (code point) `c` is unsafe by the module's rule. */
export function isUnsafe(c) {
  return UNSAFE_CHAR.test(c);
}

/** Longest name shown in a tooltip, in code points (an ellipsis marks a cut). */
export const NAME_MAX = 64;

/** `text` without unsafe characters (see module doc); runs of whitespace become one space. */
export function stripUnsafe(text) {
  return String(text ?? "").replace(/[\t\n\r\v\f\u0085\u2028\u2029]+/gu, " ").replace(UNSAFE, "").replace(BIDI_CONTROLS, "");
}

/**
 * A name for display: unsafe characters dropped, whitespace collapsed and trimmed, at most `max` code
 * points (cut ones end in "…"; a surrogate pair is never split). Empty for null, undefined or "".
 */
export function displayName(value, max = NAME_MAX) {
  const text = stripUnsafe(value).replace(/\s+/gu, " ").trim();
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join("").trimEnd()}…`;
}

/** A copy of a record's `names` with each name made safe by {@link displayName} (null without names). */
export function displayNames(names) {
  if (!names || typeof names !== "object") return null;
  const out = {};
  for (const [k, v] of Object.entries(names)) if (typeof v === "string") out[k] = displayName(v);
  return out;
}
