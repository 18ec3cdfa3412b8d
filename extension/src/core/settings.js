/**
 * User options and enterprise policy, in this order of precedence (the last one that sets a key wins):
 * defaults, `storage.local` (the options page), the host's system config (`config.json`, told in the
 * `hello` reply's `settings`, docs/protocol.md), `storage.managed` (the browser policy). Both the system
 * config and the managed settings have the one schema native_host/schemas/settings.schema.json.
 *
 * Firefox fills `storage.managed` from policies.json `3rdparty.Extensions.<id>` or from a
 * ManagedStorage native manifest (`~/.mozilla/managed-storage/<id>.json` on Linux); no
 * `managed_schema` is needed in Firefox. `storage.managed.get` rejects when there is none
 * (MDN storage.managed, https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/API/storage/managed).
 *
 * Keys (same in local and managed storage):
 *   mode           "warn" (default) | "enforce" (banned main frames are replaced by the blocked page)
 *   notifications  boolean, desktop notification on a banned verdict (default true)
 *   capture        Chromium family only: "probe" (default: the host connects to each new origin
 *                  itself) | "debugger" (chrome.debugger reads the chain the browser verified; the
 *                  browser then shows its "is debugging this browser" bar). Firefox ignores it.
 *   probing        managed or system config: false, the host connects nowhere and the Chromium family asks
 *                  for no probe (pages are unknown, "probing disabled by policy"); sent in `hello`'s policy
 *   audit          managed or system config: audit events on/off; sent in `hello`'s policy
 *   allow_spki_sha256  managed only: company inspection roots, sent to the host in `hello`
 *   allow_roots_pem    managed only: company inspection roots as PEM certificates, sent in `hello`; the
 *                      host verifies paths to them, so a proxy that does not send its root is still `notice`
 *   banned             managed only: extra banned roots (by key, certificate hash or PEM), sent in `hello`
 *   allow_user_acknowledge  managed only: false forbids "I know this root" (acknowledged.js)
 *   acknowledged       local only: roots the person acknowledged (acknowledged.js), their keys sent in `hello`
 */
import { STORAGE_KEY as ACKNOWLEDGED, allowedBy, cleanList } from "./acknowledged.js";

export const DEFAULTS = Object.freeze({ mode: "warn", notifications: true, capture: "probe", probing: true });

/** The reason a page is not judged while probing is off (the host says the same, docs/protocol.md). */
export const PROBING_DISABLED = "probing disabled by policy";

const MODES = new Set(["warn", "enforce"]);
const CAPTURES = new Set(["probe", "debugger"]);

/** Keeps only well-formed user-facing settings from an untrusted storage object. */
function clean(obj) {
  const out = {};
  if (!obj || typeof obj !== "object") return out;
  if (MODES.has(obj.mode)) out.mode = obj.mode;
  if (typeof obj.notifications === "boolean") out.notifications = obj.notifications;
  if (CAPTURES.has(obj.capture)) out.capture = obj.capture;
  if (typeof obj.probing === "boolean") out.probing = obj.probing;
  return out;
}

/** What a person may set on the options page (probing is an administrator's setting). */
function cleanLocal(obj) {
  const { probing, ...rest } = clean(obj); // eslint-disable-line no-unused-vars
  return rest;
}

function hexList(value) {
  if (!Array.isArray(value)) return [];
  return value.filter((v) => typeof v === "string" && /^[0-9a-fA-F]{64}$/.test(v)).map((v) => v.toLowerCase());
}

/** A root certificate as PEM text the host will read (it refuses anything else with a clear error). */
function isPem(value) {
  return typeof value === "string" && value.length <= 65536 && value.includes("-----BEGIN CERTIFICATE-----");
}

/** The `policy` object for the host's `hello` (docs/protocol.md), from managed storage only. */
export function policyFromManaged(managed) {
  const policy = {};
  const allow = hexList(managed?.allow_spki_sha256);
  if (allow.length) policy.allow_spki_sha256 = allow;
  const roots = Array.isArray(managed?.allow_roots_pem) ? managed.allow_roots_pem.filter(isPem).slice(0, 256) : [];
  if (roots.length) policy.allow_roots_pem = roots;
  if (Array.isArray(managed?.banned)) {
    const banned = [];
    for (const b of managed.banned) {
      if (!b || typeof b !== "object") continue;
      const reason = typeof b.reason === "string" ? b.reason : "policy";
      const [spki] = hexList([b.spki_sha256]);
      const [cert] = hexList([b.cert_sha256]);
      if (spki) banned.push({ spki_sha256: spki, reason });
      else if (cert) banned.push({ cert_sha256: cert, reason });
      else if (isPem(b.pem)) banned.push({ pem: b.pem, reason });
    }
    if (banned.length) policy.banned = banned;
  }
  for (const key of ["probing", "audit"]) {
    if (typeof managed?.[key] === "boolean") policy[key] = managed[key];
  }
  return Object.keys(policy).length ? policy : null;
}

/** Reads managed storage; an absent managed manifest gives {}. */
export async function readManaged(storage) {
  try {
    return (await storage.managed.get()) ?? {};
  } catch {
    return {};
  }
}

/**
 * Effective settings: defaults, then local, then the host's system config (`host`: the `settings` of the
 * host's `hello` reply, null before it answered), then managed.
 * @returns {Promise<{mode: string, notifications: boolean, capture: string, locked: string[], policy: object|null,
 *   allowAcknowledge: boolean, acknowledged: string[]}>}
 *   `locked` lists the keys the administrator set (the options page disables them); `acknowledged` the SPKI
 *   SHA-256 of the roots the person acknowledged, empty when policy forbids it.
 */
export async function loadSettings(storage, host = null) {
  const [local, managed] = await Promise.all([
    storage.local.get(["mode", "notifications", "capture", ACKNOWLEDGED]).catch(() => ({})),
    readManaged(storage),
  ]);
  const m = clean(managed);
  const h = clean(host);
  const allowAcknowledge = typeof managed?.allow_user_acknowledge === "boolean" ? allowedBy(managed)
    : host?.allow_user_acknowledge !== false;
  const acknowledged = allowAcknowledge ? cleanList(local?.[ACKNOWLEDGED]).map((e) => e.spki_sha256) : [];
  // host.probing is what the host applies (it already counts the managed value): not a lock of its own
  const locked = [...new Set([...Object.keys(h).filter((k) => k !== "probing"), ...Object.keys(m)])];
  return { ...DEFAULTS, ...cleanLocal(local), ...h, ...m, locked, policy: policyFromManaged(managed),
    allowAcknowledge, acknowledged };
}

/** Saves user options to local storage (ignored for keys the administrator locked). */
export async function saveLocal(storage, changes) {
  await storage.local.set(cleanLocal(changes));
}
