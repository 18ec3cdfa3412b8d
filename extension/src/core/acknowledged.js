/**
 * "I know this root" (issue 24 item 5): roots the person acknowledged for this browser profile, kept in
 * `storage.local` under {@link STORAGE_KEY} as `[{spki_sha256, name, added}]` (newest last, at most
 * {@link MAX_ACKNOWLEDGED}). The background sends their keys to the host in `hello`
 * (`acknowledged_spki_sha256`); the host turns an interception verdict anchored in one of them into `notice`
 * (`acknowledged`), so the badge and the audit event agree (native_host/engine/acknowledge.py says why the
 * overlay lives there). Managed policy `allow_user_acknowledge: false` forbids it: nothing is sent, the
 * popup offers nothing and the options page says why.
 *
 * Never offered for a banned root, a root naming Kazakhstan (`kz_issuer`: in 2019 people there were told to
 * install the state's root "for security"), a refused certificate, or a root whose key the chain did not carry.
 */

export const STORAGE_KEY = "acknowledged";
export const MAX_ACKNOWLEDGED = 256;
const HEX64 = /^[0-9a-f]{64}$/;

/** The well-formed entries of an untrusted storage value (duplicates by key dropped, bounded). */
export function cleanList(value) {
  const out = [];
  const seen = new Set();
  for (const item of Array.isArray(value) ? value : []) {
    const spki = typeof item?.spki_sha256 === "string" ? item.spki_sha256.toLowerCase() : "";
    if (!HEX64.test(spki) || seen.has(spki)) continue;
    seen.add(spki);
    out.push({ spki_sha256: spki, name: typeof item.name === "string" ? item.name.slice(0, 512) : "",
      added: Number.isFinite(item.added) ? item.added : 0 });
  }
  return out.slice(-MAX_ACKNOWLEDGED);
}

/** Whether managed policy lets the person acknowledge roots (`allow_user_acknowledge`, default true). */
export function allowedBy(managed) {
  return managed?.allow_user_acknowledge !== false;
}

/** The list in storage.local. */
export async function readList(storage) {
  try {
    return cleanList((await storage.local.get(STORAGE_KEY))?.[STORAGE_KEY]);
  } catch {
    return [];
  }
}

/** Adds a root (by its SPKI SHA-256 and display name); returns the new list. */
export async function acknowledge(storage, spki, name, now = Date.now()) {
  const list = (await readList(storage)).filter((e) => e.spki_sha256 !== String(spki).toLowerCase());
  const next = cleanList([...list, { spki_sha256: String(spki).toLowerCase(), name, added: now }]);
  await storage.local.set({ [STORAGE_KEY]: next });
  return next;
}

/** Forgets a root; returns the new list. */
export async function forget(storage, spki) {
  const next = (await readList(storage)).filter((e) => e.spki_sha256 !== String(spki).toLowerCase());
  await storage.local.set({ [STORAGE_KEY]: next });
  return next;
}

/**
 * The root a record's person could acknowledge: `{spki, name}` of the verdict's anchor when the chain carried
 * it, or null where it is never offered (module doc). `rec` is a tab-state record (tabstate.js).
 */
export function acknowledgeable(rec) {
  if (rec?.level !== "interception" || rec.reason === "kz_issuer") return null;
  const verdict = rec.verdict;
  const anchor = verdict?.anchor;
  const row = Number.isInteger(anchor?.index) && anchor?.sent ? verdict?.chain?.[anchor.index] : null;
  const spki = typeof row?.spki_sha256 === "string" ? row.spki_sha256.toLowerCase() : "";
  if (!HEX64.test(spki)) return null;
  return { spki, name: rec.names?.root || "" };
}
