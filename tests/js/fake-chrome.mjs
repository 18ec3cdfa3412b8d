/**
 * A fake of the Chromium `chrome` API on top of fake-browser.mjs: what the Chromium adapter uses
 * beyond the shared core (webRequest extraInfoSpec validation, debugger, tabs.create/update/query,
 * webNavigation.onBeforeNavigate), with Chromium's habits: `action.setTitle` throws synchronously on
 * `title: null`, and `chrome.debugger` exists only in the debugger build.
 */
import { FakeEvent, WebRequestEvent, fakeBrowser } from "./fake-browser.mjs";

const KNOWN_SPECS = new Set(["blocking", "responseHeaders", "extraHeaders", "securityInfo", "securityInfoRawDer"]);

/**
 * onHeadersReceived as Chromium has it. `securityInfo`:
 * - "supported": listeners registered with a securityInfo spec get `details.securityInfo`;
 * - "without": the schema knows the spec but the feature is off (Chromium 156 without
 *   --enable-features=WebRequestSecurityInfo, as issue 27 measured it): such listeners are accepted and
 *   called for every response, without `securityInfo`;
 * - "silent": as "without", but such listeners are never called (what capture.js assumed before);
 * - "throws": the schema does not know the spec: addListener throws.
 */
class ChromeHeadersEvent extends FakeEvent {
  constructor(mode, infos) {
    super();
    this.mode = mode;
    this.infos = infos;
  }

  addListener(fn, filter, extra = []) {
    for (const e of extra) {
      const known = KNOWN_SPECS.has(e) && !(this.mode === "throws" && e.startsWith("securityInfo"));
      if (!known) throw new TypeError(`Error at parameter 'extraInfoSpec': Error at index 0: Value must be one of blocking, responseHeaders, extraHeaders.`);
    }
    super.addListener(fn, filter, extra);
  }

  fire(details) {
    const out = [];
    for (const l of this.listeners) {
      if (l.filter?.types && !l.filter.types.includes(details.type)) continue;
      const scheme = new URL(details.url).protocol.slice(0, -1);
      if (l.filter && !l.filter.urls.some((p) => p.startsWith(`${scheme}://`))) continue;
      const wantsInfo = (l.extra ?? []).some((e) => e.startsWith("securityInfo"));
      if (wantsInfo && (this.mode === "silent" || this.mode === "throws")) continue;
      this.calls = (this.calls ?? 0) + 1;
      const d = { ...details };
      if (wantsInfo && this.mode === "supported" && this.infos.has(details.requestId)) d.securityInfo = structuredClone(this.infos.get(details.requestId));
      out.push(l.fn(d));
    }
    return out;
  }
}

/** A chrome.debugger fake: per-tab attach state and `Network.getCertificate` answers by origin. */
export function fakeDebugger({ certificates = new Map(), emptyTries = 0 } = {}) {
  const dbg = {
    attached: new Set(),
    commands: [],
    certificates,
    emptyTries,
    onDetach: new FakeEvent(),
    async attach({ tabId }, version) {
      if (dbg.attached.has(tabId)) throw new Error(`Another debugger is already attached to the tab with id: ${tabId}.`);
      dbg.attached.add(tabId);
      dbg.commands.push({ tabId, method: "attach", version });
    },
    async detach({ tabId }) {
      dbg.attached.delete(tabId);
    },
    async sendCommand({ tabId }, method, params) {
      if (!dbg.attached.has(tabId)) throw new Error(`Debugger is not attached to the tab with id: ${tabId}.`);
      dbg.commands.push({ tabId, method, params });
      if (method === "Network.getCertificate") {
        if (dbg.emptyTries > 0) {
          dbg.emptyTries -= 1;
          return { tableNames: [] };
        }
        return { tableNames: dbg.certificates.get(params.origin) ?? [] };
      }
      return {};
    },
    /** The user pressed "Cancel" on the "started debugging this browser" bar. */
    cancel(tabId) {
      dbg.attached.delete(tabId);
      dbg.onDetach.fire({ tabId }, "canceled_by_user");
    },
  };
  return dbg;
}

/**
 * @param {object} opts  fakeBrowser options plus
 * @param {"supported"|"without"|"silent"|"throws"} [opts.securityInfo]  default "without" (Chromium 156)
 * @param {object} [opts.debugger]  a {@link fakeDebugger} (omitted: the default build, no API)
 * @param {{id: number, url: string}[]} [opts.tabs]  open tabs
 * @param {object} [opts.proxy]  the `value` chrome.proxy.settings.get answers (default `{mode: "system"}`,
 *   what Chromium 156 answers without proxy switches); `chrome.proxySettings.set(value)` changes it
 */
export function fakeChrome({ securityInfo = "without", debugger: dbg, tabs = [], proxy = { mode: "system" }, ...rest } = {}) {
  const chrome = fakeBrowser(rest);
  chrome.leafInfos = new Map();
  chrome.webRequest.onHeadersReceived = new ChromeHeadersEvent(securityInfo, chrome.leafInfos);
  delete chrome.webRequest.getSecurityInfo;
  chrome.runtime.getManifest = () => ({ version: "0.1.0", background: { service_worker: "src/chromium/background.js", type: "module" } });
  chrome.runtime.getURL = (p) => `chrome-extension://bnfgaaecgknnlipoadgbeaekapoomain/${p}`;
  const setTitle = chrome.action.setTitle;
  chrome.action.setTitle = (details) => {
    if (typeof details.title !== "string") throw new TypeError("Error in invocation of action.setTitle: Error at parameter 'details': Error at property 'title': Invalid type: expected string, found null.");
    return setTitle(details);
  };
  chrome.openTabs = tabs.map((t) => ({ ...t }));
  chrome.updated = [];
  chrome.tabs.onCreated = new FakeEvent();
  chrome.tabs.query = async () => chrome.openTabs.map((t) => ({ ...t }));
  chrome.tabs.update = async (tabId, props) => { chrome.updated.push({ tabId, ...props }); return { id: tabId, ...props }; };
  chrome.webNavigation.onBeforeNavigate = new FakeEvent();
  chrome.webRequest.onResponseStarted = new WebRequestEvent();
  chrome.webRequest.onBeforeRedirect = new WebRequestEvent();
  let proxyValue = structuredClone(proxy);
  const onChange = new FakeEvent();
  chrome.proxySettingsReads = 0;
  chrome.proxy = {
    settings: {
      async get() { chrome.proxySettingsReads += 1; return { levelOfControl: "controllable_by_this_extension", value: structuredClone(proxyValue) }; },
      onChange,
    },
  };
  chrome.proxySettings = { set(value) { proxyValue = structuredClone(value); onChange.fire({ value }); } };
  // Site access: every origin granted but those in `chrome.withheld` (Chromium's "withheld" host permissions)
  chrome.withheld = new Set();
  chrome.permissions = {
    onAdded: new FakeEvent(), onRemoved: new FakeEvent(),
    async contains({ origins = [] } = {}) { return origins.every((o) => !chrome.withheld.has(o.replace(/\/\*$/, ""))); },
  };
  if (dbg) chrome.debugger = dbg;
  return chrome;
}

/** A base64 "certificate" (not real DER: the fake host does not parse it). */
export function b64(text) {
  return Buffer.from(text).toString("base64");
}
