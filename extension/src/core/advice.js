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

import { categoryOf } from "./explain.js";
import { refusedRootInstalled } from "./levels.js";

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
  refused: "advice_means_refused",
  acknowledged: "advice_means_acknowledged",
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

/**
 * The bundled guide (build/make_help.mjs), relative to the extension root (open with runtime.getURL): one
 * page per language and verdict, whose title and first section follow the verdict (issue 24 item 7).
 */
export const GUIDE_LANGS = Object.freeze(["en", "ru", "kk"]);
export const GUIDE_VERDICTS = Object.freeze(["banned", "intercepted", "refused"]);

/** The guide's path for a UI language (`ru-RU` -> ru; anything else but kk -> en) and a guide verdict. */
export function guidePath(lang, verdict) {
  const base = String(lang ?? "").toLowerCase().split(/[-_]/)[0];
  const l = GUIDE_LANGS.includes(base) ? base : "en";
  const v = GUIDE_VERDICTS.includes(verdict) ? verdict : "intercepted";
  return `help/${l}/${v}.html`;
}

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
  const category = categoryOf(rec);
  switch (rec?.level) {
    case "banned":
      if (rec.reason === "policy_banned") return "policy";
      return BANNED_KIND[category] ?? (category === "adware" ? "vendor" : "ca");
    case "interception":
      // a root that names Kazakhstan keeps its government-interception warning (docs/protocol.md)
      if (rec.reason === "kz_issuer") return "state";
      return INTERCEPTION_KIND[category] ?? "unknown";
    case "notice":
      return rec.category === "acknowledged" ? "acknowledged" : "corporate";
    case "browser-blocked":
      // installed here: the installed root's own advice; else the browser protected the person (issue 24 item 1)
      if (refusedRootInstalled(rec)) return adviceKind(rec.probe) ?? "blocked";
      return ["banned", "interception", "notice"].includes(rec.probe?.level) ? "refused" : "blocked";
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
 * Steps that remove a root, for this OS and browser: Firefox's own store first (Firefox keeps its own; not
 * for a root Firefox refused, which is not there), then the system's, then the helper's command. `fix`:
 * the command that finds every copy and removes it (it lists them and asks first, and keeps a backup):
 * `rootsentinel scan --fix` for a banned root, `--include-interception` added for one that is not banned
 * (`scan --fix` keeps those: issue 24 item 2), else `rootsentinel scan`, which only lists them.
 * @param {{fix?: "banned"|"interception"|null, inBrowser?: boolean}} [opts]
 */
function removalSteps(t, root, env, { fix = null, inBrowser = true } = {}) {
  const steps = [];
  if (env.browser === "firefox" && inBrowser) steps.push({ text: t("advice_step_remove_firefox", [root]) });
  if (env.os === "win") steps.push({ text: t("advice_step_remove_windows", [root]) });
  else if (env.os === "mac") steps.push({ text: t("advice_step_remove_mac", [root]) });
  else if (env.os === "linux" && env.browser === "chromium" && inBrowser) steps.push({ text: t("advice_step_remove_linux_nss", [root]), code: [...LINUX_NSS_COMMANDS] });
  else if (!DESKTOP.has(env.os) && env.os) steps.push({ text: t("advice_step_remove_device", [root]) });
  if (DESKTOP.has(env.os) || !env.os) {
    if (fix === "banned") steps.push({ text: t("advice_step_fix"), code: ["rootsentinel scan --fix"] });
    else if (fix === "interception") steps.push({ text: t("advice_step_fix_interception", [root]), code: ["rootsentinel scan --fix --include-interception"] });
    else steps.push({ text: t("advice_step_scan"), code: ["rootsentinel scan"] });
  }
  return steps;
}

/**
 * The steps for one kind, in order. `where`: {inBrowser} false when the browser refused the root (it is not
 * in the browser's own store; `installed_in` says where it is).
 */
function stepsFor(t, kind, rec, env, where = {}) {
  const root = rec?.names?.root || rec?.names?.entry || t("name_unnamed_root");
  const product = typeof rec?.names?.product === "string" ? rec.names.product : "";
  const noPasswords = { text: t("advice_step_no_passwords") };
  const inBrowser = where.inBrowser !== false;
  // scan --fix removes banned roots only; a root that is not banned needs --include-interception
  const fix = rec?.level === "banned" ? "banned" : "interception";
  switch (kind) {
    case "state":
      return [noPasswords, { text: t("advice_step_other_network") }, ...removalSteps(t, root, env, { fix, inBrowser })];
    case "vendor":
      return [noPasswords, { text: t("advice_step_uninstall_vendor") }, ...removalSteps(t, root, env, { fix, inBrowser })];
    case "ca":
      return [noPasswords, { text: t("advice_step_update") }, ...removalSteps(t, root, env, { fix, inBrowser })];
    case "acknowledged": {
      // removing a root the person chose to keep: a company's root first goes past the IT team (issue 24 item 5)
      const corporate = categoryOf({ ...rec, category: null }) === "corporate-proxy";
      return [
        ...(corporate ? [{ text: t("advice_step_ask_it_first", [root]) }] : []),
        { text: t("advice_step_ack_undo") },
        ...removalSteps(t, root, env, { inBrowser }),
      ];
    }
    case "refused":
      return rec?.level === "banned"
        ? [{ text: t("advice_step_refused_no_click") }, { text: t("advice_step_refused_do_not_install", [root]) }, { text: t("advice_step_other_network") }]
        : [{ text: t("advice_step_refused_no_click") }, { text: t("advice_step_refused_own_device") }, { text: t("advice_step_refused_network") }];
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
        ...removalSteps(t, root, env, { inBrowser }),
      ];
    case "parental":
      return [{ text: t("advice_step_parental_ask") }, noPasswords];
    case "unknown":
      return [noPasswords, { text: t("advice_step_unknown_check") }, { text: t("advice_step_unknown_other_network") }, ...removalSteps(t, root, env, { inBrowser })];
    case "formerly":
      return [{ text: t("advice_step_formerly_owner") }];
    case "unreachable":
      return [{ text: t("advice_step_unreachable_reload") }, { text: t("advice_step_unreachable_network") }];
    default:
      return [];
  }
}

/** Kinds that link the guide (the others have nothing to remove or nothing to learn there). */
const GUIDED = new Set(["state", "vendor", "ca", "devtool", "unknown", "antivirus", "corporate", "parental",
  "refused", "acknowledged"]);

/**
 * Which guide a record links (build/make_help.mjs): `banned`, `refused` (the browser refused a root nothing
 * here trusts) or `intercepted` (everything else with advice).
 * @returns {"banned"|"intercepted"|"refused"}
 */
export function guideVerdict(rec) {
  if (rec?.level === "browser-blocked") return refusedRootInstalled(rec) ? guideVerdict(rec.probe) : "refused";
  return rec?.level === "banned" ? "banned" : "intercepted";
}

/**
 * `installed_in` of a banned verdict, or of the probe of a refused page (the helper's scan of this
 * computer's stores): each entry as a sentence and its one removal command. Malformed entries are skipped;
 * at most 8 are kept.
 * @returns {{text: string, code: string[]}[]}
 */
export function installedSteps(t, rec) {
  const verdict = rec?.verdict ?? rec?.probe?.verdict ?? rec;
  const level = rec?.level === "browser-blocked" ? rec?.probe?.level : rec?.level;
  const list = verdict?.installed_in ?? rec?.installed_in;
  if (!(level === "banned" || rec?.level === "browser-blocked") || !Array.isArray(list)) return [];
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
  let steps;
  if (rec.level === "browser-blocked" && kind !== "refused" && kind !== "blocked") {
    // a root installed on this computer that the browser refused: its own advice, without the browser's
    // store (installed_in lists where it is, with the commands)
    steps = stepsFor(t, kind, rec.probe, e, { inBrowser: false });
  } else if (kind === "blocked") {
    // the browser protected this page and the helper could not tell more (its connection failed, or it saw
    // a public chain: another route, or another problem with the certificate)
    steps = [{ text: t("advice_step_refused_no_click") }, { text: t("advice_step_other_network") }];
  } else {
    steps = stepsFor(t, kind, kind === "refused" ? rec.probe : rec, e);
  }
  return { kind, means: t(MEANS[kind]), steps, installed: installedSteps(t, rec), guide: GUIDED.has(kind),
    guideVerdict: guideVerdict(rec) };
}
