/**
 * Composes the user's explanation from the host's stable codes (level, category, reason, names);
 * the host's own English `explanation` is kept for the CLI and logs only (docs/protocol.md,
 * issue 7). All message keys used here are written out literally in the tables below, so the
 * catalogue test can check that each one exists and that no catalogue key is unused.
 *
 * Names (`names.root`, `names.entry`, `names.host`, and `names.product` / `names.vendor` from the
 * host's catalogue) are attacker-controlled text: they are only ever substituted into message
 * placeholders and inserted with textContent by the pages. A product name is what the root's name (or
 * key) claims, never proof: every sentence that uses one says so.
 */
import { LEVEL_NAME, refusedRootInstalled } from "./levels.js";
import { displayName, displayNames, stripUnsafe } from "./safetext.js";

/** Banned explanations by category (reason `policy_banned` has its own). */
const BANNED = Object.freeze({
  "state-mitm": "explain_banned_state_mitm",
  "malware-mitm": "explain_banned_malware_mitm",
  "compromised-ca": "explain_banned_compromised_ca",
  "distrusted-ca": "explain_banned_distrusted_ca",
});

/** The categories of banned roots. */
const BANNED_CATEGORIES = new Set(Object.keys(BANNED));

/** Interception explanations by category. */
const INTERCEPTION = Object.freeze({
  antivirus: "explain_interception_antivirus",
  "corporate-proxy": "explain_interception_corporate_proxy",
  "dev-tool": "explain_interception_dev_tool",
  "unknown-interception": "explain_interception_unknown",
});

/**
 * Interception explanations that name the product the catalogue recognised (`names.product`), by
 * category; `explain_interception_named_key` when the root carries the key the product ships
 * (`interceptor.by` = `spki_sha256`).
 */
const INTERCEPTION_NAMED = Object.freeze({
  antivirus: "explain_interception_named_antivirus",
  "corporate-proxy": "explain_interception_named_corporate_proxy",
  "dev-tool": "explain_interception_named_dev_tool",
  "parental-control": "explain_interception_named_parental_control",
  adware: "explain_interception_named_adware",
});

/** Short category names (popup, origin list). */
export const CATEGORY_NAME = Object.freeze({
  "state-mitm": "category_state_mitm",
  "malware-mitm": "category_malware_mitm",
  "compromised-ca": "category_compromised_ca",
  "distrusted-ca": "category_distrusted_ca",
  allowlisted: "category_allowlisted",
  antivirus: "category_antivirus",
  "corporate-proxy": "category_corporate_proxy",
  "dev-tool": "category_dev_tool",
  "parental-control": "category_parental_control",
  adware: "category_adware",
  "unknown-interception": "category_unknown_interception",
  public: "category_public",
  acknowledged: "category_acknowledged",
});

/**
 * The catalogue's `interceptor.kind` -> the verdict category whose name says it. The kinds of banned roots
 * (`state`, `vendor`, `compromised-ca`, `distrusted-ca`, each with an `owner`; branch i25-catalogue) map to
 * the blocklist categories; the interception kinds are categories themselves. A kind not listed here falls
 * back to the verdict's own category.
 */
const KIND_CATEGORY = Object.freeze({
  state: "state-mitm",
  vendor: "malware-mitm",
  "compromised-ca": "compromised-ca",
  "distrusted-ca": "distrusted-ca",
  antivirus: "antivirus",
  "corporate-proxy": "corporate-proxy",
  "dev-tool": "dev-tool",
  "parental-control": "parental-control",
  adware: "adware",
});

/** Why the host reached its verdict, by reason code. */
export const REASON = Object.freeze({
  blocklist_spki: "reason_blocklist_spki",
  blocklist_cert: "reason_blocklist_cert",
  blocklist_issuer: "reason_blocklist_issuer",
  policy_banned: "reason_policy_banned",
  allowlisted_root: "reason_allowlisted_root",
  non_public_anchor: "reason_non_public_anchor",
  not_builtin_root: "reason_not_builtin_root",
  kz_issuer: "reason_kz_issuer",
  public_anchor: "reason_public_anchor",
  no_certificates: "reason_no_certificates",
  insecure: "reason_insecure",
  probe_failed: "reason_probe_failed",
  probing_disabled: "reason_probing_disabled",
  banned_name: "reason_banned_name",
  unparseable_leaf: "reason_unparseable_leaf",
  incomplete_chain: "reason_incomplete_chain",
  formerly_public_root: "reason_formerly_public_root",
  busy: "reason_busy",
  der_wanted: "reason_der_wanted",
  imitated_issuer: "reason_imitated_issuer",
  issuer_not_ca: "reason_issuer_not_ca",
  missing_issuer: "reason_missing_issuer",
});

/** How a certificate matched a blocklist entry (`matched.by`). */
export const MATCHED_BY = Object.freeze({
  spki_sha256: "matched_by_spki",
  cert_sha256: "matched_by_cert",
  issuer_name: "matched_by_issuer_name",
  issuer_aki: "matched_by_issuer_aki",
  subject_name: "matched_by_subject_name",
});

/** Where the evidence came from (`evidence`). */
export const EVIDENCE = Object.freeze({
  securityInfo: "evidence_security_info",
  chain: "evidence_chain",
  probe: "evidence_probe",
});

/**
 * The evidence source an adapter used (`record.source`), where it says more than `evidence`: the
 * Chromium family has three, each with what it can and cannot see (extension/README.md).
 */
export const SOURCE = Object.freeze({
  debugger: "evidence_debugger",
  "security-info": "evidence_leaf_and_probe",
  probe: "evidence_probe_separate",
});

/** Chromium's net error for a chain it recognised as known interception (net/base/net_error_list.h, -217). */
export const KNOWN_INTERCEPTION_ERROR = "net::ERR_CERT_KNOWN_INTERCEPTION_BLOCKED";

/** Why the extension itself could not get a verdict (`record.error.code`). */
const FAILURE = Object.freeze({
  host_unreachable: "explain_host_unreachable",
  timeout: "explain_host_timeout",
  no_security_info: "explain_no_security_info",
});

/** Certificate roles in the chain. */
export const ROLE = Object.freeze({ leaf: "role_leaf", intermediate: "role_intermediate", root: "role_root" });

/** The interceptor object of a record or of its verdict, or null. */
export function interceptorOf(rec) {
  const who = rec?.interceptor ?? rec?.verdict?.interceptor;
  return who && typeof who === "object" ? who : null;
}

/**
 * The category a record is named by: the catalogue's kind when it names one this code knows (the kinds of
 * banned roots included), else the verdict's category.
 * @returns {string|null}
 */
export function categoryOf(rec) {
  const kind = interceptorOf(rec)?.kind;
  const category = typeof kind === "string" && Object.hasOwn(KIND_CATEGORY, kind) ? KIND_CATEGORY[kind] : null;
  // a kind names a banned root's category only if it is one of the banned kinds (the catalogue may call the
  // banned Superfish root "adware"), and an interception's only if it is not
  if (category && (rec?.level === "banned") === BANNED_CATEGORIES.has(category)) return category;
  return typeof rec?.category === "string" ? rec.category : null;
}

/** Who a banned root belongs to, named once: the blocklist entry, else the catalogue's product (and owner). */
function bannedWho(rec) {
  const names = displayNames(rec.names) ?? {};
  let entry = names.entry || "";
  if (entry && names.root && entry.endsWith(`: ${names.root}`)) entry = entry.slice(0, -(names.root.length + 2));
  if (entry) return entry;
  const who = interceptorOf(rec);
  const product = names.product || displayName(typeof who?.product === "string" ? who.product : "");
  const owner = displayName(typeof who?.owner === "string" ? who.owner : "");
  if (product && owner && owner !== product) return `${product} (${owner})`;
  return product || owner;
}

/**
 * The one line under the level in the popup's header and the badge tooltip: what kind of root this is and,
 * for a banned root, whose (issue 24 items 2 and 4: one kind, said once). Empty where there is no kind.
 * @returns {string}
 */
export function kindLine(t, rec) {
  if (!rec) return "";
  const category = categoryOf(rec);
  const named = category && CATEGORY_NAME[category] ? t(CATEGORY_NAME[category]) : "";
  switch (rec.level) {
    case "banned": {
      const kind = rec.reason === "policy_banned" ? t("kind_policy_banned") : named || t("level_banned");
      const who = rec.reason === "policy_banned" ? "" : bannedWho(rec);
      return who ? t("kind_with_who", [kind, who]) : kind;
    }
    case "interception":
      // a root naming Kazakhstan keeps its government-interception warning (docs/protocol.md)
      if (rec.reason === "kz_issuer") return t("kind_kz_issuer");
      return named || t("category_unknown_interception");
    case "notice":
      // acknowledged: the level line already says "a root you know"; the kind line says what it looks like
      if (rec.category === "acknowledged") return named && category !== "acknowledged" ? named : "";
      return t("category_allowlisted");
    case "browser-blocked":
      if (refusedRootInstalled(rec) && ["banned", "interception", "notice"].includes(rec.probe?.level)) {
        return t("kind_installed_here", [kindLine(t, rec.probe)]);
      }
      return rec.probe && rec.probe.level !== "ok" && rec.probe.level !== "unknown" ? t("kind_refused") : "";
    default:
      return "";
  }
}

/**
 * The main sentence of a page the browser refused (issue 24 item 1), from what the helper's probe and its
 * `installed_in` found: a root installed on this computer intercepts (remove it), or the browser refused a
 * certificate that nothing here trusts (`installed_in: []`) or that this browser does not trust (unknown
 * elsewhere): the browser protected you. Before the probe answers, the browser's own error.
 */
function explainBlocked(t, rec) {
  const host = hostOf(rec);
  const probe = rec.probe;
  const level = probe?.level;
  if (!["banned", "interception", "notice", "ok"].includes(level)) return t("explain_browser_blocked", [host, rec.error?.message ?? ""]);
  const root = probe.names?.root || probe.names?.entry || t("name_unnamed_root");
  if (level === "ok") return t("explain_blocked_public", [host, root]);
  const installed = refusedRootInstalled(rec);
  if (installed) return t("explain_blocked_installed", [host, root]);
  if (level === "banned") return t(installed === false ? "explain_blocked_banned_nowhere" : "explain_blocked_banned", [host, root]);
  return t(installed === false ? "explain_blocked_refused_nowhere" : "explain_blocked_refused", [host, root]);
}

/** The level's display name. */
export function levelName(t, level) {
  return t(LEVEL_NAME[level] ?? LEVEL_NAME.unknown);
}

/** The name of the level a record is shown at: a root the person acknowledged is not the organisation's. */
export function shownLevelName(t, level, rec) {
  if (level === "notice" && rec?.category === "acknowledged") return t("level_acknowledged");
  return levelName(t, level);
}

/** The host name to show for a record. */
function hostOf(rec) {
  if (rec?.names?.host) return rec.names.host;
  try { return new URL(rec?.url).hostname; } catch { return "?"; }
}

/**
 * The main sentence for one record (one origin's verdict or failure).
 * @param {(key: string, subs?: string[]) => string} t
 * @param {object} rec  a tab-state Record (see tabstate.js) or a host verdict
 * @returns {string}
 */
export function explainRecord(t, rec) {
  const host = hostOf(rec);
  const root = rec?.names?.root || rec?.names?.entry || t("name_unnamed_root");
  let entry = rec?.names?.entry || rec?.names?.root || t("name_unnamed_root");
  // Blocklist entry names often end with the root's own name ("Superfish (Lenovo): Superfish, Inc.");
  // the sentence already quotes the root, so keep only the entry's own part.
  if (rec?.names?.root && entry.endsWith(`: ${rec.names.root}`)) entry = entry.slice(0, -(rec.names.root.length + 2));
  switch (rec?.level) {
    case "ok":
      return t("explain_ok", [host, root]);
    case "pending":
      return t("explain_pending", [host]);
    case "notice":
      return t(rec.category === "acknowledged" ? "explain_acknowledged" : "explain_notice", [host, root]);
    case "interception": {
      if (rec.reason === "kz_issuer") return t("explain_interception_kz", [host, root]);
      if (rec.reason === "imitated_issuer") return t("explain_imitated_issuer", [host, root]);
      if (rec.reason === "issuer_not_ca") return t("explain_issuer_not_ca", [host, root]);
      const product = rec.names?.product;
      const byKey = (rec.interceptor ?? rec.verdict?.interceptor)?.by === "spki_sha256";
      if (product && byKey) return t("explain_interception_named_key", [host, root, product]);
      if (product && INTERCEPTION_NAMED[rec.category]) return t(INTERCEPTION_NAMED[rec.category], [host, root, product]);
      return t(INTERCEPTION[rec.category] ?? INTERCEPTION["unknown-interception"], [host, root]);
    }
    case "banned":
      if (rec.reason === "policy_banned") return t("explain_banned_policy", [host, root]);
      if (rec.reason === "banned_name") return t("explain_banned_name", [host, root, entry]);
      // who it belongs to (the entry, the product) is in the kind line (kindLine), said once
      return t(BANNED[categoryOf(rec)] ?? "explain_banned_other", [host, root]);
    case "browser-blocked":
      return explainBlocked(t, rec);
    default:
      break;
  }
  // unknown: the host could not be asked, or it could not judge
  const code = rec?.error?.code;
  if (code && FAILURE[code]) return t(FAILURE[code], [host]);
  if (code) return t("explain_host_error", [host, code]);
  if (rec?.reason === "insecure") return t("explain_insecure", [host]);
  if (rec?.reason === "no_certificates") return t("explain_no_security_info", [host]);
  if (rec?.reason === "probe_failed") return t("explain_probe_failed", [host]);
  if (rec?.reason === "probing_disabled") return t("explain_probing_disabled", [host]);
  if (rec?.reason === "unparseable_leaf") return t("explain_unparseable_leaf", [host]);
  if (rec?.reason === "incomplete_chain") return t("explain_incomplete_chain", [host, root]);
  if (rec?.reason === "missing_issuer") return t("explain_missing_issuer", [host, root]);
  if (rec?.reason === "formerly_public_root") return t("explain_formerly_public_root", [host, root]);
  if (rec?.reason === "busy") return t("explain_probe_busy", [host]);
  if (rec?.reason === "der_wanted") return t("explain_der_wanted", [host]);
  return t("explain_unknown", [host]);
}

/**
 * Follow-up sentences: the fix for an unreachable host; for a browser-blocked page, Chromium's own
 * recognition of a known interception certificate, the probe still running or failed, and the browser's
 * error once the main sentence says what the probe found.
 * @returns {string[]}
 */
export function explainMore(t, rec) {
  const out = [];
  if (rec?.error?.code === "host_unreachable" || rec?.error?.code === "timeout") out.push(t("help_host_unreachable"));
  if (rec?.level === "browser-blocked") {
    if (String(rec.error?.message ?? "").includes(KNOWN_INTERCEPTION_ERROR)) out.push(t("explain_known_interception_blocked"));
    if (!rec.probe) out.push(t("probe_running"));
    else if (!rec.probe.level || rec.probe.level === "unknown") out.push(t("explain_probe_failed", [hostOf(rec)]));
  }
  return out;
}

/**
 * The browser's own error for a refused page once the main sentence says what the probe found (before
 * that, the main sentence carries it), for a note; "" otherwise.
 */
export function blockedError(t, rec) {
  const found = rec?.level === "browser-blocked" && rec.probe?.level && rec.probe.level !== "unknown";
  return found && rec.error?.message ? t("blocked_error", [rec.error.message]) : "";
}

/** What a route problem means for the user (`probe.route.problem`). */
const ROUTE_PROBLEM = Object.freeze({
  proxy_auth_required: "route_proxy_auth",
  proxy_unsupported: "route_proxy_unsupported",
});

/** Proxy modes in which the browser does not tell extensions which proxy a request used. */
const ROUTE_UNKNOWN = Object.freeze({
  pac_script: "route_unknown_pac",
  system: "route_unknown_system",
  auto_detect: "route_unknown_auto",
});

/** The probe detail (with `route`) of a record: its own verdict's, or its probe's (browser-blocked). */
export function probeDetailOf(rec) {
  return rec?.verdict?.probe ?? rec?.probe?.verdict?.probe ?? null;
}

/**
 * Sentences on the route of the helper's probe (docs/protocol.md `probe.route`): how it reached the
 * server, and what it could not follow (a proxy that wants credentials or that it cannot speak; a
 * proxy chosen by a PAC script, the system settings or auto-detection, which the browser does not
 * reveal). Empty when the evidence is not a probe.
 * @returns {string[]}
 */
export function explainRoute(t, rec) {
  const route = probeDetailOf(rec)?.route;
  if (!route || typeof route !== "object") return [];
  const out = [];
  const connected = typeof route.connected === "string" ? route.connected : null;
  if (connected && route.proxy) out.push(t("route_via_proxy", [String(route.proxy)]));
  else if (connected && route.from_browser && route.address && connected.replace(/^\[/, "").startsWith(route.address)) {
    out.push(t("route_browser_address", [connected]));
  } else if (connected) out.push(t("route_own_lookup", [connected]));
  if (route.problem && ROUTE_PROBLEM[route.problem]) out.push(t(ROUTE_PROBLEM[route.problem]));
  if (route.proxy_known === false && ROUTE_UNKNOWN[route.proxy_mode]) out.push(t(ROUTE_UNKNOWN[route.proxy_mode]));
  return out;
}

/**
 * The badge tooltip: level name, the kind line ({@link kindLine}) and the main sentence of the worst record
 * (for a browser-blocked page, what the probe found). Names are bounded and every line is free of control and
 * bidi characters (safetext.js): a tooltip is laid out as plain text, where an RLO in a certificate name
 * would reorder it.
 */
export function tooltip(t, titleKey, rec) {
  const base = t(titleKey);
  if (!rec) return base;
  const safeNames = (r) => (r ? { ...r, names: displayNames(r.names) ?? r.names } : r);
  const safe = { ...safeNames(rec), probe: safeNames(rec.probe) };
  return [base, kindLine(t, safe), explainRecord(t, safe)].filter(Boolean).map(stripUnsafe).join("\n");
}
