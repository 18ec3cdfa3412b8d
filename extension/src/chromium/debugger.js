/**
 * Debugger mode: the chain Chromium itself verified, read through `chrome.debugger` and the DevTools
 * protocol (browser-apis.md 2.2).
 *
 * - `Network.getCertificate({origin})` answers with `tableNames`: the base64 DER of the certificates
 *   of a response from that origin recorded while the Network domain was enabled, as the browser
 *   built and verified the chain (root included). Network must be enabled *before* the load, so
 *   every tab is attached as soon as it exists (tabs.onCreated) and when it starts navigating.
 * - For a response that is still arriving the list is empty; the lookup is repeated a few times.
 * - The user sees Chrome's "RootSentinel started debugging this browser" bar for as long as a tab is
 *   attached (only the --silent-debugger-extension-api switch hides it); the popup, options page and
 *   README say so. Cancelling the bar detaches (onDetach), and that tab falls back to the probe.
 * - Attaching fails on chrome:// and Web Store pages, on tabs another debugger holds, and, since
 *   Chrome 155, on hosts an administrator listed in `runtime_blocked_hosts`; such tabs use the probe.
 * - The `debugger` permission cannot be optional in Chromium: with `"optional_permissions":
 *   ["debugger"]`, Chromium 156 answers `permissions.request({permissions: ["debugger"]})` with
 *   "Only permissions specified in the manifest may be requested." (seen here). So only the debugger
 *   build has it (build/build_extension.mjs --with-debugger);
 *   in the default build `chrome.debugger` is absent, this mode does nothing and the probe is used.
 */

/** DevTools protocol version asked for by `debugger.attach`. */
export const PROTOCOL_VERSION = "1.3";

export class DebuggerCapture {
  /**
   * @param {object} api  the `chrome` API object (`debugger`, `tabs`, `permissions`)
   * @param {object} [opts]
   * @param {number} [opts.attempts]  Network.getCertificate tries before giving up
   * @param {number} [opts.retryMs]  delay between tries
   * @param {(ms: number) => Promise<void>} [opts.sleep]
   */
  constructor(api, { attempts = 20, retryMs = 150, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) } = {}) {
    this.api = api;
    this.attempts = attempts;
    this.retryMs = retryMs;
    this.sleep = sleep;
    this.active = false;
    this.attached = new Set();
    this.attaching = new Map();
    this.listening = false;
  }

  /** True when the `debugger` API is usable (the debugger build). */
  available() {
    return typeof this.api.debugger?.attach === "function";
  }

  /**
   * Registers the detach listener; call synchronously at the worker's top level. When the
   * permission is granted later, {@link enable} registers it then.
   */
  listen() {
    if (this.listening || !this.api.debugger?.onDetach) return;
    this.listening = true;
    this.api.debugger.onDetach.addListener((source) => {
      if (source?.tabId !== undefined) this.attached.delete(source.tabId);
    });
  }

  /** Turns debugger mode on: attaches to every open tab. Resolves with the ids attached. */
  async enable() {
    this.active = true;
    if (!this.available()) return [];
    this.listen();
    let tabs = [];
    try { tabs = (await this.api.tabs.query({})) ?? []; } catch { tabs = []; }
    const done = await Promise.all(tabs.map((tab) => this.attach(tab.id)));
    return tabs.filter((_, i) => done[i]).map((tab) => tab.id);
  }

  /** Turns debugger mode off: detaches from every tab (the browser's bar goes away). */
  async disable() {
    this.active = false;
    const ids = [...this.attached];
    this.attached.clear();
    await Promise.all(ids.map((tabId) => Promise.resolve()
      .then(() => this.api.debugger.detach({ tabId })).catch(() => {})));
  }

  /** Whether the tab's certificates can be read through the debugger. */
  isAttached(tabId) {
    return this.active && this.attached.has(tabId);
  }

  /**
   * Attaches to a tab and enables the Network domain. A tab that is already attached (our own
   * session surviving a service-worker restart) counts as attached.
   * @returns {Promise<boolean>}
   */
  attach(tabId) {
    if (!this.active || !this.available() || typeof tabId !== "number" || tabId < 0) return Promise.resolve(false);
    if (this.attached.has(tabId)) return Promise.resolve(true);
    if (this.attaching.has(tabId)) return this.attaching.get(tabId);
    const target = { tabId };
    const p = (async () => {
      try {
        await this.api.debugger.attach(target, PROTOCOL_VERSION);
      } catch (e) {
        if (!/already attached/i.test(String(e?.message ?? e))) return false;
      }
      try {
        await this.api.debugger.sendCommand(target, "Network.enable", {});
      } catch {
        return false;
      }
      if (!this.active) return false;
      this.attached.add(tabId);
      return true;
    })().finally(() => this.attaching.delete(tabId));
    this.attaching.set(tabId, p);
    return p;
  }

  /**
   * The chain the browser verified for `origin` in a tab: base64 DER, leaf first; [] when the
   * debugger has none (the response was not recorded, or the tab was detached).
   * @param {number} tabId
   * @param {string} origin  `https://host[:port]`
   * @returns {Promise<string[]>}
   */
  async chain(tabId, origin) {
    for (let i = 0; i < this.attempts; i += 1) {
      if (!this.isAttached(tabId)) return [];
      let names = [];
      try {
        const res = await this.api.debugger.sendCommand({ tabId }, "Network.getCertificate", { origin });
        names = Array.isArray(res?.tableNames) ? res.tableNames.filter((s) => typeof s === "string" && s) : [];
      } catch {
        names = [];
      }
      if (names.length) return names;
      if (i + 1 < this.attempts) await this.sleep(this.retryMs);
    }
    return [];
  }
}
