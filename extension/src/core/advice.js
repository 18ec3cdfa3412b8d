/**
 * What a verdict means for the person in front of the browser, and what to do, by verdict category
 * (issue 14). Pure: from a tab-state record (or a host verdict), the platform and the browser to one
 * or two sentences and ordered steps, each step a sentence and optional command lines for a <code>
 * block. The pages build the DOM (render.js); nothing here touches it.
 *
 * Names (`names.root`, `names.product`) and `installed_in` fields come from certificates and the
 * helper's scan: they are substituted into message placeholders or returned as command text only,
 * never as markup. A product name is used as text and, for antivirus settings, as a lookup key into
 * {@link ANTIVIRUS_SETTING}, so an unknown name gets the generic step.
 *
 * All message keys are written out literally so the catalogue test sees each one.
 */

/** Advice kind -> the sentence saying what it means. */
const MEANS = Object.freeze({
  state: "advice_means_state",
  vendor: "advice_means_vendor",
  ca: "advice_means_ca",
  policy: "advice_means_policy",
  antivirus: "advice_means_antivirus",
  corporate: "advice_means_corporate",
  devtool: "advice_means_devtool",
  parental: "advice_means_parental",
  unknown: "advice_means_unknown",
  formerly: "advice_means_formerly",
  blocked: "advice_means_blocked",
  unreachable: "advice_means_unreachable",
});

/** Banned categories -> advice kind. */
const BANNED_KIND = Object.freeze({
  "state-mitm": "state",
  "malware-mitm": "vendor",
  "compromised-ca": "ca",
  "distrusted-ca": "ca",
});

/** Interception (and notice) categories -> advice kind. */
const INTERCEPTION_KIND = Object.freeze({
  antivirus: "antivirus",
  "corporate-proxy": "corporate",
  allowlisted: "corporate",
  "dev-tool": "devtool",
  "parental-control": "parental",
  adware: "vendor",
  "unknown-interception": "unknown",
});

/**
 * The setting that turns HTTPS scanning off, per catalogue product, where the vendor documents it:
 * Avast, "HTTPS scanning in Web Shield - FAQs" (support.avast.com, Antivirus-HTTPS-scan-FAQ);
 * ESET, KB5833 "Manage SSL/TLS protocol filtering" (support.eset.com); Kaspersky, "How to change
 * encrypted connections settings" (support.kaspersky.com, article 157530). Other products (Norton)
 * get the generic step.
 */
export const ANTIVIRUS_SETTING = Object.freeze({
  Avast: "advice_step_av_avast",
  ESET: "advice_step_av_eset",
  Kaspersky: "advice_step_av_kaspersky",
});

/** The bundled guide, relative to the extension root (open with runtime.getURL). */
export const GUIDE_PATH = "help/banned-root.html";

/** Commands for the Chromium family's own NSS store on Linux (docs/banned-root.md). */
const LINUX_NSS_COMMANDS = Object.freeze([
  "certutil -L -d sql:$HOME/.pki/nssdb",
  "certutil -D -d sql:$HOME/.pki/nssdb -n 'NICKNAME'",
]);

/** OSes where the `rootsentinel` helper runs (runtime.PlatformOs values). */
const DESKTOP = new Set(["win", "mac", "linux", "openbsd"]);

/**
 * The advice kind of a record, or null when there is nothing to advise (ok, pending, a check that
 * could not run for reasons the popup already explains, e.g. the helper is not installed).
 * @returns {string|null}
 */
export function adviceKind(rec) {
  switch (rec?.level) {
    case "banned":
      if (rec.reason === "policy_banned") return "policy";
      return BANNED_KIND[rec.category] ?? (rec.category === "adware" ? "vendor" : "ca");
    case "interception":
      // a root that names Kazakhstan keeps its government-interception warning (docs/protocol.md)
      if (rec.reason === "kz_issuer") return "state";
      return INTERCEPTION_KIND[rec.category] ?? "unknown";
    case "notice":
      return "corporate";
    case "browser-blocked":
      return "blocked";
    case "unknown":
      if (rec.error?.code) return null;
      if (rec.reason === "formerly_public_root") return "formerly";
      if (rec.reason === "probe_failed") return "unreachable";
      return null;
    default:
      return null;
  }
}

/** The platform facts advice depends on: `os` from runtime.getPlatformInfo, `browser` "firefox" | "chromium". */
function envOf(env) {
  return { os: typeof env?.os === "string" ? env.os : "", browser: env?.browser === "chromium" ? "chromium" : "firefox" };
}

/**
 * Steps that remove a root, for this OS and browser: Firefox's own store first (Firefox keeps its
 * own), then the system's, then where to find every copy; for a banned root (`fix`), then the command
 * that removes every copy the scan finds (`rootsentinel scan --fix`: it asks first and keeps a backup).
 */
function removalSteps(t, root, env, fix = false) {
  const steps = [];
  if (env.browser === "firefox") steps.push({ text: t("advice_step_remove_firefox", [root]) });
  if (env.os === "win") steps.push({ text: t("advice_step_remove_windows", [root]) });
  else if (env.os === "mac") steps.push({ text: t("advice_step_remove_mac", [root]) });
  else if (env.os === "linux" && env.browser === "chromium") steps.push({ text: t("advice_step_remove_linux_nss", [root]), code: [...LINUX_NSS_COMMANDS] });
  else if (!DESKTOP.has(env.os) && env.os) steps.push({ text: t("advice_step_remove_device", [root]) });
  if (DESKTOP.has(env.os) || !env.os) {
    steps.push({ text: t("advice_step_scan"), code: ["rootsentinel scan"] });
    if (fix) steps.push({ text: t("advice_step_fix"), code: ["rootsentinel scan --fix"] });
  }
  return steps;
}

/** The steps for one kind, in order. */
function stepsFor(t, kind, rec, env) {
  const root = rec?.names?.root || rec?.names?.entry || t("name_unnamed_root");
  const product = typeof rec?.names?.product === "string" ? rec.names.product : "";
  const noPasswords = { text: t("advice_step_no_passwords") };
  switch (kind) {
    case "state":
      return [noPasswords, { text: t("advice_step_other_network") }, ...removalSteps(t, root, env, true)];
    case "vendor":
      return [noPasswords, { text: t("advice_step_uninstall_vendor") }, ...removalSteps(t, root, env, true)];
    case "ca":
      return [noPasswords, { text: t("advice_step_update") }, ...removalSteps(t, root, env, true)];
    case "policy":
      return [noPasswords, { text: t("advice_step_policy_ask_it") }];
    case "antivirus": {
      const setting = Object.hasOwn(ANTIVIRUS_SETTING, product) ? ANTIVIRUS_SETTING[product] : "advice_step_av_generic";
      return [
        { text: product ? t("advice_step_av_confirm", [product]) : t("advice_step_av_confirm_generic") },
        { text: t(setting) },
        { text: t("advice_step_reload") },
      ];
    }
    case "corporate":
      return [{ text: t("advice_step_corp_ask", [root]) }, { text: t("advice_step_corp_private") }, { text: t("advice_step_corp_not_work") }];
    case "devtool":
      return [
        { text: product ? t("advice_step_dev_yours_named", [product]) : t("advice_step_dev_yours") },
        { text: t("advice_step_dev_not_yours") },
        ...removalSteps(t, root, env),
      ];
    case "parental":
      return [{ text: t("advice_step_parental_ask") }, noPasswords];
    case "unknown":
      return [noPasswords, { text: t("advice_step_unknown_check") }, { text: t("advice_step_unknown_other_network") }, ...removalSteps(t, root, env)];
    case "formerly":
      return [{ text: t("advice_step_formerly_owner") }];
    case "unreachable":
      return [{ text: t("advice_step_unreachable_reload") }, { text: t("advice_step_unreachable_network") }];
    default:
      return [];
  }
}

/** Kinds whose steps remove a root: they link the guide. */
const GUIDED = new Set(["state", "vendor", "ca", "devtool", "unknown"]);

/**
 * `installed_in` of a banned verdict (the helper's scan of this computer's stores): each entry as a
 * sentence and its one removal command. Malformed entries are skipped; at most 8 are kept.
 * @returns {{text: string, code: string[]}[]}
 */
export function installedSteps(t, rec) {
  const verdict = rec?.verdict ?? rec?.probe?.verdict ?? rec;
  const level = rec?.level === "browser-blocked" ? rec?.probe?.level : rec?.level;
  const list = verdict?.installed_in ?? rec?.installed_in;
  if (level !== "banned" || !Array.isArray(list)) return [];
  const out = [];
  for (const item of list.slice(0, 8)) {
    if (!item || typeof item !== "object") continue;
    const { store, location, remove } = item;
    if (typeof store !== "string" || !store) continue;
    out.push({
      text: t("advice_installed", [store, typeof location === "string" ? location : ""]),
      code: typeof remove === "string" && remove ? [remove] : [],
    });
  }
  return out;
}

/**
 * The advice for a record.
 * @param {(key: string, subs?: string[]) => string} t
 * @param {object} rec  a tab-state Record (tabstate.js) or a host verdict
 * @param {{os?: string, browser?: string}} [env]
 * @returns {null | {kind: string, means: string, steps: {text: string, code?: string[]}[], installed: {text: string, code: string[]}[], guide: boolean}}
 */
export function adviceFor(t, rec, env) {
  const kind = adviceKind(rec);
  if (!kind) return null;
  const e = envOf(env);
  let steps = stepsFor(t, kind, rec, e);
  let guide = GUIDED.has(kind);
  if (kind === "blocked") {
    // the browser protected this page; what the helper's own connection found says what to do next
    const found = adviceKind(rec.probe);
    const next = found && found !== "blocked" ? stepsFor(t, found, rec.probe, e).filter((s) => s.text !== t("advice_step_no_passwords")) : [];
    steps = [{ text: t("advice_step_blocked_no_exception") }, ...(next.length ? next : [{ text: t("advice_step_other_network") }])];
    guide = GUIDED.has(found);
  }
  return { kind, means: t(MEANS[kind]), steps, installed: installedSteps(t, rec), guide };
}
