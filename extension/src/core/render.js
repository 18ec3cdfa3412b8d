/**
 * Renders verdicts into extension pages (popup, blocked page) with textContent only.
 */
import { el, clear } from "./dom.js";
import { formatDate, formatNumber } from "./i18n.js";
import {
  CATEGORY_NAME, EVIDENCE, MATCHED_BY, REASON, ROLE, SOURCE, blockedError, categoryOf, explainMore, explainRecord,
  explainRoute, kindLine, levelName, shownLevelName,
} from "./explain.js";
import { isIntercepted, shownLevel } from "./levels.js";
import { adviceFor } from "./advice.js";
import { acknowledgeable } from "./acknowledged.js";
import { displayName } from "./dn.js";
import { worstRecord } from "./sentinel.js";

/** Colon-separated uppercase pairs for a hex fingerprint, as browsers show them. */
export function prettyHex(hex) {
  if (typeof hex !== "string") return "";
  return hex.toUpperCase().match(/.{1,2}/g)?.join(":") ?? "";
}

/** The verdict holding chain detail for a record: its own, else the probe's. */
function detailOf(rec) {
  if (rec?.verdict?.chain) return rec.verdict;
  if (rec?.probe?.verdict?.chain) return rec.probe.verdict;
  return null;
}

/** "Why this certificate matched": reason, how, and the blocklist entry. */
function matchText(t, verdict) {
  const parts = [];
  if (verdict.reason && REASON[verdict.reason]) parts.push(t(REASON[verdict.reason]));
  const by = verdict.matched?.by;
  if (by && MATCHED_BY[by]) parts.push(t(MATCHED_BY[by]));
  const entry = verdict.matched?.entry;
  if (entry?.name) parts.push(t("matched_entry", [entry.name, entry.category && CATEGORY_NAME[entry.category] ? t(CATEGORY_NAME[entry.category]) : (entry.category ?? "")]));
  return parts.join(" ");
}

/** One labelled row. */
function row(doc, label, value, cls) {
  return el(doc, "div", { class: `row ${cls ?? ""}`.trim() }, [
    el(doc, "span", { class: "label", text: label }),
    el(doc, "span", { class: "value", text: value }),
  ]);
}

/**
 * Fills `list` with the certificates of a verdict, leaf first.
 * @param {Document} doc
 * @param {HTMLElement} list  an <ol>
 * @param {object} verdict  a host verdict with `chain`
 */
export function renderChain(doc, list, verdict, t, lang) {
  clear(list);
  const matchedIndex = verdict?.matched?.index;
  for (const cert of verdict?.chain ?? []) {
    const matched = cert.matched === true || matchedIndex === cert.index;
    const item = el(doc, "li", { class: matched ? "cert matched" : "cert", attrs: { "data-index": cert.index } }, [
      el(doc, "div", { class: "role", text: t(ROLE[cert.role] ?? "role_intermediate") }),
      row(doc, t("field_name"), displayName(t, cert.subject), "subject-name"),
      row(doc, t("field_issued_by"), displayName(t, cert.issuer), "issuer-name"),
      // the full names as the host sent them (RFC 4514), for experts and bug reports
      row(doc, t("field_subject"), cert.subject ?? "", "subject mono"),
      row(doc, t("field_issuer"), cert.issuer ?? "", "issuer mono"),
      row(doc, t("field_sha256"), prettyHex(cert.cert_sha256), "fp mono"),
      row(doc, t("field_spki"), prettyHex(cert.spki_sha256), "fp mono"),
      row(doc, t("field_validity"), t("validity_range", [formatDate(cert.not_before, lang), formatDate(cert.not_after, lang)]), "validity"),
      cert.role === "root" ? el(doc, "p", { class: "public-root", text: t(cert.public_root ? "cert_public_root_yes" : "cert_public_root_no") }) : null,
      matched ? el(doc, "p", { class: "why", text: t("cert_matched", [matchText(t, verdict)]) }) : null,
      cert.parse_error && !(verdict.sent_without_der ?? []).includes(cert.index)
        ? el(doc, "p", { class: "note", text: t("cert_parse_error", [cert.parse_error]) }) : null,
    ]);
    list.append(item);
  }
  if (verdict?.truncated) list.append(el(doc, "li", { class: "note", text: t("chain_truncated") }));
}

/**
 * Fills `box` with the advice for a record (advice.js): what it means (unless `opts.means` is false: the
 * popup's lead sentence already says it), the steps in order (commands in <code> blocks), where the root is
 * installed on this computer, and a link to the bundled guide for the verdict in the person's language.
 * Hides `box` when there is no advice. Text only: names and commands are attacker-influenced.
 * @param {Document} doc
 * @param {HTMLElement} box
 * @param {object|null} rec
 * @param {{env?: object, guideUrl?: (verdict: string) => string, means?: boolean}} [opts]
 * @returns {object|null}  the advice shown
 */
export function renderAdvice(doc, box, rec, t, opts = {}) {
  clear(box);
  const advice = rec ? adviceFor(t, rec, opts.env) : null;
  box.hidden = !advice;
  if (!advice) return null;
  box.dataset.kind = advice.kind;
  const codeBlock = (lines) => lines.map((line) => el(doc, "pre", { class: "command" }, [el(doc, "code", { text: line })]));
  if (opts.means !== false) {
    box.append(el(doc, "h2", { text: t("advice_heading") }));
    box.append(el(doc, "p", { class: "advice-means", text: advice.means }));
  }
  const url = advice.guide && typeof opts.guideUrl === "function" ? opts.guideUrl(advice.guideVerdict) : "";
  // the guide link sits on the heading's line: one line less in a popup that must fit 600 px
  box.append(el(doc, "h2", { class: "steps-heading" }, [
    el(doc, "span", { text: t("advice_steps_heading") }),
    typeof url === "string" && url
      ? el(doc, "a", { class: "guide-link", text: t("advice_guide_link"), attrs: { href: url, target: "_blank", rel: "noopener" } })
      : null,
  ]));
  const steps = el(doc, "ol", { class: "advice-steps" });
  for (const step of advice.steps) steps.append(el(doc, "li", {}, [el(doc, "span", { text: step.text }), ...codeBlock(step.code ?? [])]));
  box.append(steps);
  if (advice.installed.length) {
    const list = el(doc, "ul", { class: "installed" });
    for (const item of advice.installed) list.append(el(doc, "li", {}, [el(doc, "span", { text: item.text }), ...codeBlock(item.code)]));
    box.append(list);
  }
  return advice;
}

/**
 * The "I know this root" box (acknowledged.js): for a record whose root the person may acknowledge (and
 * policy allows it), a button that asks to confirm, naming the root and what it changes; `onConfirm({spki,
 * name})` is called when the person confirms. Hidden otherwise (an acknowledged root's steps say how to undo it).
 * @param {{allowed?: boolean, onConfirm?: (root: {spki: string, name: string}) => void}} [opts]
 */
export function renderAcknowledge(doc, box, rec, t, opts = {}) {
  clear(box);
  box.hidden = true;
  const root = opts.allowed === false ? null : acknowledgeable(rec);
  if (!root) return;
  const name = root.name || t("name_unnamed_root");
  const yes = el(doc, "button", { class: "ack-yes", text: t("ack_confirm_button", [name]), attrs: { type: "button" } });
  const cancel = el(doc, "button", { class: "ack-cancel", text: t("ack_cancel"), attrs: { type: "button" } });
  const confirm = el(doc, "div", { class: "ack-confirm" }, [el(doc, "p", { text: t("ack_confirm_text", [name]) }), yes, cancel]);
  confirm.hidden = true;
  const ask = el(doc, "button", { class: "ack-ask", text: t("ack_button"), attrs: { type: "button" } });
  ask.addEventListener("click", () => { confirm.hidden = false; ask.hidden = true; });
  cancel.addEventListener("click", () => { confirm.hidden = true; ask.hidden = false; });
  yes.addEventListener("click", () => opts.onConfirm?.(root));
  box.append(ask, confirm);
  box.hidden = false;
}

/**
 * Renders a page state into the popup's elements (see popup.html for the ids). The first screen holds the
 * verdict (level, kind line, host), one sentence, and the steps; the evidence, the route, the page's other
 * intercepted origins and the certificates are behind one "Details" disclosure (issue 24 item 4: each
 * thing once, and the popup fits a real popup's 600 px).
 * @param {Document} doc
 * @param {object|null} state  tab state from storage.session
 * @param {object|null} hostStatus  from storage.session `host`
 * @param {{env?: {os: string, browser: string}, guideUrl?: (verdict: string) => string,
 *   acknowledge?: {allowed?: boolean, onConfirm?: Function}}} [opts]  for the advice (renderAdvice) and
 *   "I know this root" (renderAcknowledge)
 */
export function renderPopup(doc, state, hostStatus, t, lang, opts = {}) {
  const $ = (id) => doc.getElementById(id);
  const rec = worstRecord(state);
  const shown = shownLevel(state, rec);
  $("verdict").dataset.level = shown ?? "none";
  $("level").textContent = shown ? shownLevelName(t, shown, rec) : t("popup_no_state");
  $("kind").textContent = kindLine(t, rec);
  let pageHost = "";
  try { pageHost = state?.url ? new URL(state.url).host : ""; } catch { pageHost = ""; }
  $("page-host").textContent = pageHost;
  $("explanation").textContent = rec ? explainRecord(t, rec) : "";

  const more = $("more");
  clear(more);
  for (const s of rec ? explainMore(t, rec) : []) more.append(el(doc, "p", { class: "help", text: s }));
  if (rec?.error?.message && rec.level !== "browser-blocked") more.append(el(doc, "p", { class: "note", text: t("error_detail", [rec.error.message]) }));
  if (blockedError(t, rec)) more.append(el(doc, "p", { class: "note", text: blockedError(t, rec) }));
  // Chromium's leaf-only evidence: the browser's leaf was not the one the helper's probe received.
  if (rec?.source === "security-info" && rec.verdict?.leaf_matches_probe === false) more.append(el(doc, "p", { class: "note", text: t("leaf_differs_from_probe") }));

  renderAdvice(doc, $("advice"), rec, t, { ...opts, means: false });
  renderAcknowledge(doc, $("acknowledge"), rec, t, opts.acknowledge ?? {});

  $("from-cache").hidden = !(state?.main?.fromCache || rec?.fromCache);
  const source = rec?.source ?? rec?.probe?.source;
  const evidence = rec?.evidence ?? rec?.probe?.evidence;
  $("evidence").textContent = source && SOURCE[source] ? t(SOURCE[source])
    : evidence && EVIDENCE[evidence] ? t(EVIDENCE[evidence]) : "";
  // Beside the evidence: the route the helper's probe took, and what it could not follow.
  $("route").textContent = rec ? explainRoute(t, rec).join(" ") : "";

  // The page's intercepted origins, when there is more than the one the header speaks of; never "none".
  const origins = $("origins");
  clear(origins);
  const intercepted = Object.values(state?.origins ?? {}).filter((r) => isIntercepted(r.level));
  intercepted.sort((a, b) => (a.origin ?? "").localeCompare(b.origin ?? ""));
  for (const r of intercepted) {
    const root = r.names?.root || r.names?.entry || t("name_unnamed_root");
    const category = categoryOf(r);
    origins.append(el(doc, "li", { class: `origin level-${r.level}`, attrs: { "data-level": r.level } }, [
      el(doc, "span", { class: "origin-name mono", text: r.origin }),
      el(doc, "span", { class: "origin-level", text: levelName(t, r.level) }),
      el(doc, "span", { class: "origin-root", text: t("origin_root", [root, r.reason === "kz_issuer" ? t("kind_kz_issuer") : category && CATEGORY_NAME[category] ? t(CATEGORY_NAME[category]) : ""]) }),
    ]));
  }
  $("origins-section").hidden = !(intercepted.length > 1 || (intercepted.length === 1 && intercepted[0].origin !== rec?.origin));

  const detail = detailOf(rec);
  $("chain-section").hidden = !detail;
  if (detail) {
    $("chain-heading").textContent = t("popup_chain_heading", [rec.origin ?? ""]);
    renderChain(doc, $("chain"), detail, t, lang);
  }
  $("chain-details").hidden = !(detail || !$("origins-section").hidden || $("evidence").textContent || $("route").textContent || hostStatus?.hello);

  // the helper's version is for experts (Details); only a helper that cannot be reached is said up front
  $("retry-host").hidden = !(hostStatus?.error && !hostStatus?.hello);
  const bl = hostStatus?.hello?.blocklist ?? {};
  $("host-version").textContent = hostStatus?.hello
    ? t("host_version", [String(hostStatus.hello.version ?? "?"), String(bl.version ?? "?"), formatNumber(Number(bl.size ?? 0), lang)]) : "";
  $("host-status").textContent = !hostStatus?.hello && hostStatus?.error ? t("host_status_unreachable", [hostStatus.error]) : "";
}
