/**
 * A small fake of the WebExtension `browser` API: just what the background core and the Firefox
 * adapter use, with a scriptable native host behind `runtime.connectNative`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const EXTENSION = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "extension");

/** Every file below `dir`, recursively (paths joined onto `dir`). */
export function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** An event with addListener and a way to fire it; `fire` returns the listeners' return values. */
export class FakeEvent {
  constructor() { this.listeners = []; }
  addListener(fn, filter, extra) { this.listeners.push({ fn, filter, extra }); }
  removeListener(fn) { this.listeners = this.listeners.filter((l) => l.fn !== fn); }
  fire(...args) { return this.listeners.map((l) => l.fn(...args)); }
}

/** Matches a webRequest filter the way Firefox does for our patterns (scheme and type only). */
function matches(filter, details) {
  if (!filter) return true;
  if (filter.types && !filter.types.includes(details.type)) return false;
  const scheme = new URL(details.url).protocol.slice(0, -1);
  return filter.urls.some((p) => p === "<all_urls>" || p.startsWith(`${scheme}://`));
}

export class WebRequestEvent extends FakeEvent {
  fire(details) {
    const hit = this.listeners.filter((l) => matches(l.filter, details));
    this.calls = (this.calls ?? 0) + hit.length; // listener calls: each is a message to the extension
    return hit.map((l) => l.fn(details));
  }
}

/** A storage area: its own `onChanged` (Chrome 73, Firefox 79) and the shared `storage.onChanged`, both fired. */
class StorageArea {
  constructor(shared, area, data = {}) {
    this.data = structuredClone(data); this.shared = shared; this.area = area; this.onChanged = new FakeEvent();
  }
  async get(keys) {
    if (keys === null || keys === undefined) return structuredClone(this.data);
    const list = typeof keys === "string" ? [keys] : Array.isArray(keys) ? keys : Object.keys(keys);
    const out = {};
    for (const k of list) if (k in this.data) out[k] = structuredClone(this.data[k]);
    return out;
  }
  async set(obj) {
    const changes = {};
    for (const [k, v] of Object.entries(obj)) { changes[k] = { newValue: v }; this.data[k] = structuredClone(v); }
    this.onChanged?.fire(changes);
    this.shared.fire(changes, this.area);
  }
  async remove(keys) { for (const k of [].concat(keys)) delete this.data[k]; }
}

/** English catalogue lookup with placeholder substitution, like i18n.getMessage. */
export function catalogue(lang = "en") {
  return JSON.parse(readFileSync(join(EXTENSION, "_locales", lang, "messages.json"), "utf8"));
}

function getMessageFrom(cat) {
  return (key, subs = []) => {
    const entry = cat[key];
    if (!entry) return "";
    const list = [].concat(subs);
    return entry.message.replace(/\$([A-Za-z0-9_@]+)\$/g, (m, name) => {
      const ph = entry.placeholders?.[name.toLowerCase()];
      if (!ph) return m;
      return ph.content.replace(/\$(\d)/g, (_, n) => list[Number(n) - 1] ?? "");
    });
  };
}

/** A native port connected to `host(msg) -> reply | Promise<reply> | undefined`. */
class FakePort {
  constructor(native, name) {
    this.name = name;
    this.native = native;
    this.onMessage = new FakeEvent();
    this.onDisconnect = new FakeEvent();
    this.error = null;
    this.closed = false;
  }
  postMessage(msg) {
    if (this.closed) throw new Error("Attempt to postMessage on disconnected port");
    this.native.sent.push(structuredClone(msg));
    Promise.resolve(this.native.host(msg, this)).then((reply) => {
      if (reply !== undefined && !this.closed) this.onMessage.fire(structuredClone(reply));
    });
  }
  disconnect() { this.closed = true; }
  /** Simulates the host going away: Firefox sets port.error and fires onDisconnect. */
  crash(message = "No such native application io.rootsentinel.host") {
    if (this.closed) return;
    this.closed = true;
    this.error = { message };
    this.onDisconnect.fire(this);
  }
}

/**
 * Builds the fake.
 * @param {object} opts
 * @param {(msg: object, port: FakePort) => any} [opts.host]  the native host; `null` = missing host
 * @param {object} [opts.managed]  managed storage contents (undefined = no managed manifest)
 * @param {object} [opts.local]  local storage contents
 * @param {object} [opts.session]  session storage contents (an event page restart keeps it)
 */
export function fakeBrowser({ host, managed, local = {}, session = {}, lang = "en" } = {}) {
  const storageChanged = new FakeEvent();
  const native = { sent: [], ports: [], host: host ?? (() => undefined) };
  const badges = new Map();
  const securityInfos = new Map();
  const cat = catalogue(lang);
  const browser = {
    native,
    badges,
    securityInfos,
    notificationsCreated: [],
    runtime: {
      getManifest: () => ({ version: "0.1.0" }),
      getURL: (p) => `moz-extension://test-uuid/${p}`,
      lastError: null,
      onMessage: new FakeEvent(),
      connectNative(name) {
        const port = new FakePort(native, name);
        native.ports.push(port);
        if (host === null) setTimeout(() => port.crash(), 0);
        return port;
      },
    },
    i18n: { getMessage: getMessageFrom(cat), getUILanguage: () => lang },
    storage: {
      onChanged: storageChanged,
      local: new StorageArea(storageChanged, "local", local),
      session: new StorageArea(storageChanged, "session", session),
      managed: {
        onChanged: new FakeEvent(),
        async get() {
          if (managed === undefined) throw new Error("Managed storage manifest not found");
          return structuredClone(managed);
        },
      },
    },
    action: {
      async setBadgeText({ tabId, text }) { badges.set(tabId, { ...badges.get(tabId), text }); },
      async setBadgeBackgroundColor({ tabId, color }) { badges.set(tabId, { ...badges.get(tabId), color }); },
      async setTitle({ tabId, title }) { badges.set(tabId, { ...badges.get(tabId), title }); },
      async setIcon({ tabId, path }) { badges.set(tabId, { ...badges.get(tabId), icon: path }); },
    },
    notifications: {
      async create(id, opts) { browser.notificationsCreated.push({ id, ...opts }); return id; },
    },
    webRequest: {
      onHeadersReceived: new WebRequestEvent(),
      onErrorOccurred: new WebRequestEvent(),
      onBeforeRequest: new WebRequestEvent(),
      calls: [],
      getSecurityInfo(requestId, options) {
        browser.webRequest.calls.push({ requestId, options });
        // Like Firefox: rawDER only when asked for (and the chain only with certificateChain).
        const si = structuredClone(securityInfos.get(requestId));
        if (si && Array.isArray(si.certificates)) {
          if (!options?.certificateChain) si.certificates = si.certificates.slice(0, 1);
          if (!options?.rawDER) for (const c of si.certificates) delete c.rawDER;
        }
        return Promise.resolve(si);
      },
    },
    webNavigation: { onCommitted: new FakeEvent(), onErrorOccurred: new FakeEvent(), onBeforeNavigate: new FakeEvent() },
    tabs: { onUpdated: new FakeEvent(), onRemoved: new FakeEvent() },
    /** The administrator's policy arrives or changes: managed storage becomes `next`, onChanged fires ("managed"). */
    setManaged(next) {
      const old = managed ?? {};
      managed = structuredClone(next);
      const changes = {};
      for (const k of new Set([...Object.keys(old), ...Object.keys(next ?? {})])) changes[k] = { oldValue: old[k], newValue: next?.[k] };
      browser.storage.managed.onChanged.fire(changes);
      storageChanged.fire(changes, "managed");
    },
  };
  return browser;
}

/** Lets pending promise callbacks and zero-delay timers run. */
export async function settle(rounds = 5) {
  for (let i = 0; i < rounds; i += 1) await new Promise((r) => setTimeout(r, 0));
}

/** A Firefox-shaped SecurityInfo whose leaf fingerprint is `leafHex` (64 hex digits). */
export function securityInfo(leafHex, { rootName = "Test Root", builtIn = false } = {}) {
  const colon = (h) => h.toUpperCase().match(/.{2}/g).join(":");
  return {
    state: "secure",
    protocolVersion: "TLSv1.3",
    certificates: [
      { subject: "CN=leaf", issuer: `CN=${rootName}`, fingerprint: { sha256: colon(leafHex) }, rawDER: [48, 130, 1, 2] },
      { subject: `CN=${rootName}`, issuer: `CN=${rootName}`, isBuiltInRoot: builtIn,
        fingerprint: { sha256: colon("ab".repeat(32)) }, rawDER: [48, 130, 3, 4] },
    ],
  };
}

/** A host verdict reply for a check request (docs/protocol.md). */
export function verdict(msg, level, extra = {}) {
  const host = new URL(msg.url).hostname;
  const category = { ok: "public", interception: "unknown-interception", banned: "malware-mitm", notice: "allowlisted" }[level] ?? null;
  return {
    type: "verdict", id: msg.id, level, category,
    reason: { ok: "public_anchor", interception: "non_public_anchor", banned: "blocklist_spki", notice: "allowlisted_root" }[level],
    explanation: "English sentence", names: { root: extra.root ?? "Test Root", entry: extra.entry ?? null, host },
    evidence: "securityInfo", url: msg.url, host, matched: null, anchor: null, chain: [], truncated: false,
    from_cache: false, probe: null, ...extra,
  };
}
