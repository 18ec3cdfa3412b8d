/**
 * Distinguished names as the host and the browser send them, turned into names a person can read.
 *
 * The host sends RFC 4514 strings (`CN=Superfish\, Inc.,O=Superfish\, Inc.,C=US`: `\,` `\+` `\"` `\\`
 * and hex escapes such as `\2C` or UTF-8 bytes `\D0\9A`, multi-valued RDNs joined by `+`, `#hex` BER
 * values); Firefox/NSS quote values instead (`O="Superfish, Inc.", C=US`). Every name is
 * attacker-controlled: the parser never throws, bounds its work, and the display form has control and
 * bidirectional-formatting characters made visible; the pages insert it with textContent only.
 */

import { isUnsafe } from "./safetext.js";

/** Longest DN parsed; the rest is ignored (a DN in a certificate is rarely over 1 KiB). */
export const MAX_DN_LENGTH = 8192;
/** Most attributes kept. */
export const MAX_ATTRIBUTES = 64;
/** Longest name shown, in code points. */
export const MAX_NAME_LENGTH = 160;

/** Attribute type names by OID (RFC 4519), for DNs that spell types as dotted OIDs. */
const OID_NAMES = Object.freeze({
  "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
  "2.5.4.5": "SERIALNUMBER", "0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "E",
});

const HEX2 = /^[0-9A-Fa-f]{2}$/;

/** Decodes collected bytes as UTF-8 (invalid sequences become U+FFFD). */
function utf8(bytes) {
  return new TextDecoder("utf-8", { fatal: false }).decode(new Uint8Array(bytes));
}

/** The normalised attribute type: uppercase name, `OID.` prefix dropped, known OIDs named. */
function typeName(raw) {
  let t = raw.trim();
  if (/^oid\./i.test(t)) t = t.slice(4);
  if (OID_NAMES[t]) return OID_NAMES[t];
  return t.toUpperCase();
}

/**
 * Parses a DN into RDNs, each a list of `{type, value}` (in the order given). Never throws: input
 * that is not a string gives `[]`, an attribute without `=` is kept as `{type: "", value: text}`.
 * @param {unknown} dn
 * @returns {{type: string, value: string}[][]}
 */
export function parseDN(dn) {
  if (typeof dn !== "string") return [];
  const s = dn.length > MAX_DN_LENGTH ? dn.slice(0, MAX_DN_LENGTH) : dn;
  const rdns = [];
  let rdn = [];
  let count = 0;
  let i = 0;
  const n = s.length;
  while (i < n && count < MAX_ATTRIBUTES) {
    // type: up to "=" (or a separator, for a malformed attribute)
    let j = i;
    while (j < n && s[j] !== "=" && s[j] !== "," && s[j] !== "+") j++;
    let type = "";
    if (j < n && s[j] === "=") {
      type = typeName(s.slice(i, j));
      i = j + 1;
    }
    // value
    while (i < n && s[i] === " ") i++;
    let value = "";
    if (s[i] === '"') {
      // quoted (NSS, RFC 1779): up to the closing quote; backslash escapes the next character
      i++;
      let out = "";
      while (i < n && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < n) { out += s[i + 1]; i += 2; } else { out += s[i]; i++; }
      }
      i++; // the closing quote (or past the end)
      value = out;
      while (i < n && s[i] !== "," && s[i] !== "+") i++; // ignore anything up to the separator
    } else if (s[i] === "#" && type) {
      // BER-encoded value: shown as it came
      let j2 = i;
      while (j2 < n && s[j2] !== "," && s[j2] !== "+") j2++;
      value = s.slice(i, j2).trim();
      i = j2;
    } else {
      let out = "";
      let bytes = [];
      let trailingEscaped = 0; // length of out that ended with an escaped character (kept when trimming)
      const flush = () => { if (bytes.length) { out += utf8(bytes); bytes = []; trailingEscaped = out.length; } };
      while (i < n && s[i] !== "," && s[i] !== "+" && !(s[i] === ";" && !type)) {
        if (s[i] === "\\" && i + 1 < n) {
          const pair = s.slice(i + 1, i + 3);
          if (HEX2.test(pair)) { bytes.push(parseInt(pair, 16)); i += 3; continue; }
          flush();
          out += s[i + 1];
          trailingEscaped = out.length;
          i += 2;
          continue;
        }
        flush();
        out += s[i] === "\\" ? "" : s[i];
        i++;
      }
      flush();
      // unescaped trailing spaces are not part of the value (RFC 4514 escapes significant ones)
      let end = out.length;
      while (end > trailingEscaped && out[end - 1] === " ") end--;
      value = out.slice(0, end);
    }
    rdn.push({ type, value });
    count++;
    const sep = s[i];
    i++;
    if (sep !== "+") { rdns.push(rdn); rdn = []; }
    while (i < n && s[i] === " ") i++;
  }
  if (rdn.length) rdns.push(rdn);
  return rdns;
}

/** The first value of an attribute type in a parsed DN, or "". */
export function attribute(rdns, type) {
  for (const rdn of rdns) for (const a of rdn) if (a.type === type && a.value) return a.value;
  return "";
}

/**
 * Text safe to show: the characters ./safetext.js calls unsafe (the host's rule: controls, format and
 * bidirectional characters, which can reorder what is shown, e.g. U+202E) become visible `<U+XXXX>`,
 * and the result is cut to {@link MAX_NAME_LENGTH}.
 */
export function visibleText(text) {
  const chars = [...String(text ?? "")].map((c) =>
    (isUnsafe(c) ? `<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}>` : c));
  const joined = chars.join("");
  const cps = [...joined];
  return cps.length > MAX_NAME_LENGTH ? `${cps.slice(0, MAX_NAME_LENGTH - 1).join("")}…` : joined;
}

/**
 * The readable parts of a DN: its common name and organization (display-safe), or, when it has
 * neither, the DN itself made visible.
 * @returns {{cn: string, o: string, fallback: string}}
 */
export function readableName(dn) {
  const rdns = parseDN(dn);
  const cn = attribute(rdns, "CN");
  const o = attribute(rdns, "O");
  const fallback = cn || o ? "" : visibleText(attribute(rdns, "OU") || (typeof dn === "string" ? dn : ""));
  return { cn: visibleText(cn), o: visibleText(o), fallback };
}

/**
 * One line for a DN: "CN (organization O)" through the message `dn_name_org`, CN alone when O is the
 * same or missing, O alone without CN.
 * @param {(key: string, subs?: string[]) => string} t
 */
export function displayName(t, dn) {
  const { cn, o, fallback } = readableName(dn);
  if (cn && o && cn !== o) return t("dn_name_org", [cn, o]);
  return cn || o || fallback;
}
