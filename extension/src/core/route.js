/**
 * The route of the browser's own connection, for the host's probe (issue 15; docs/protocol.md
 * `probe.route`): the address the browser connected to (webRequest `details.ip`) and the proxy in
 * force for the request, so that the probe reaches the server the way the page did.
 *
 * - Chromium does not say per request which proxy it used: the proxy comes from
 *   `chrome.proxy.settings.get` (modes `direct`, `fixed_servers`, `pac_script`, `system`,
 *   `auto_detect`; https://developer.chrome.com/docs/extensions/reference/api/proxy). For
 *   `fixed_servers` the rule for https and the bypass list decide ({@link chromiumProxyFor}); for a
 *   PAC script, the system settings and auto-detection the choice is the browser's alone, and the
 *   popup says that RootSentinel cannot know it.
 * - Firefox gives the request's own proxy in `details.proxyInfo` ({@link firefoxProxyOf};
 *   MDN webRequest.onErrorOccurred, `proxyInfo` and `ip`).
 *
 * The shape sent to the host (native_host/schemas/probe.request.schema.json `route`):
 * `{address: string|null, proxy: {mode, scheme?, host?, port?}}`; a `fixed_servers` proxy without
 * `host` means the URL is on the bypass list (the browser went direct).
 */

/** Chromium's proxy modes in which it picks the proxy per request and does not tell extensions. */
export const UNKNOWN_PROXY_MODES = Object.freeze(["pac_script", "system", "auto_detect"]);

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4ToInt(text) {
  const m = IPV4.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** True for a loopback host as Chromium bypasses it implicitly: localhost, *.localhost, 127/8, ::1. */
export function isLoopback(host) {
  const h = String(host ?? "").toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost") || h === "::1") return true;
  const n = ipv4ToInt(h);
  return n !== null && (n >>> 24) === 127;
}

function globToRegExp(glob) {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");
}

/**
 * True when Chromium's bypass list sends `url` direct (net/proxy_resolution/proxy_bypass_rules.h:
 * `<local>` for dot-less names, `<-loopback>` to proxy loopback too, which is otherwise always
 * bypassed, `[scheme://]host-pattern[:port]` with `*` wildcards, a leading `.` for subdomains, and
 * IPv4 CIDR blocks `a.b.c.d/n`).
 */
export function bypassed(url, bypassList = []) {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const scheme = u.protocol.slice(0, -1);
  const port = u.port || (scheme === "https" || scheme === "wss" ? "443" : "80");
  const rules = (Array.isArray(bypassList) ? bypassList : []).map((r) => String(r).trim()).filter(Boolean);
  if (!rules.includes("<-loopback>") && isLoopback(host)) return true;
  for (const rule of rules) {
    if (rule === "<-loopback>") continue;
    if (rule === "<local>") {
      if (!host.includes(".") && !host.includes(":")) return true;
      continue;
    }
    const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(rule);
    if (cidr) {
      const net = ipv4ToInt(cidr[1]);
      const ip = ipv4ToInt(host);
      const bits = Number(cidr[2]);
      if (net !== null && ip !== null && bits <= 32) {
        const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
        if (((net & mask) >>> 0) === ((ip & mask) >>> 0)) return true;
      }
      continue;
    }
    let pattern = rule;
    let ruleScheme = null;
    const s = /^([a-z][a-z0-9+.-]*):\/\//i.exec(pattern);
    if (s) { ruleScheme = s[1].toLowerCase(); pattern = pattern.slice(s[0].length); }
    let rulePort = null;
    const p = /^(.*[^:]):(\d+)$/.exec(pattern);
    if (p && !pattern.startsWith("[")) { pattern = p[1]; rulePort = p[2]; }
    pattern = pattern.replace(/^\[|\]$/g, "");
    if (pattern.startsWith(".")) pattern = `*${pattern}`;
    if (ruleScheme && ruleScheme !== scheme) continue;
    if (rulePort && rulePort !== port) continue;
    if (globToRegExp(pattern).test(host)) return true;
  }
  return false;
}

/**
 * The proxy Chromium uses for `url` under `value` from `chrome.proxy.settings.get({})`, as the
 * probe request's `route.proxy`.
 * @param {string} url
 * @param {object|undefined} value  `{mode, rules?, pacScript?}`
 * @returns {{mode: string, scheme?: string, host?: string, port?: number}}
 */
export function chromiumProxyFor(url, value) {
  const mode = typeof value?.mode === "string" ? value.mode : "system";
  if (mode !== "fixed_servers") return { mode: ["direct", "pac_script", "system", "auto_detect"].includes(mode) ? mode : "system" };
  const rules = value.rules ?? {};
  const scheme = new URL(url).protocol === "http:" ? "http" : "https";
  const server = (scheme === "https" ? rules.proxyForHttps : rules.proxyForHttp) ?? rules.singleProxy ?? rules.fallbackProxy;
  if (!server?.host || bypassed(url, rules.bypassList)) return { mode };
  const proxyScheme = server.scheme ?? "http";
  const port = Number(server.port) || { http: 80, https: 443, socks4: 1080, socks5: 1080, quic: 443 }[proxyScheme] || 80;
  return { mode, scheme: proxyScheme, host: String(server.host).replace(/^\[|\]$/g, ""), port };
}

/** Firefox `proxyInfo.type` to the probe request's scheme (MDN proxy.ProxyInfo). */
const FIREFOX_SCHEME = Object.freeze({ http: "http", https: "https", socks: "socks5", socks4: "socks4" });

/**
 * The proxy of one Firefox request from `details.proxyInfo` (absent or `direct`: no proxy).
 * @returns {{mode: string, scheme?: string, host?: string, port?: number}}
 */
export function firefoxProxyOf(proxyInfo) {
  const scheme = FIREFOX_SCHEME[proxyInfo?.type];
  if (!scheme || !proxyInfo.host) return { mode: "direct" };
  return { mode: "fixed_servers", scheme, host: String(proxyInfo.host).replace(/^\[|\]$/g, ""), port: Number(proxyInfo.port) || undefined };
}

/** An IP literal as the schema takes it (webRequest `ip` may be IPv6 without brackets), else null. */
export function addressOf(ip) {
  if (typeof ip !== "string") return null;
  const a = ip.trim().replace(/^\[|\]$/g, "");
  return /^[0-9A-Fa-f:.]+$/.test(a) && a.length <= 64 && (a.includes(":") || IPV4.test(a)) ? a : null;
}

/** The probe request's `route` from an address and a proxy. */
export function makeRoute(ip, proxy) {
  const route = { address: addressOf(ip), proxy: proxy ?? null };
  if (route.proxy && route.proxy.port === undefined) delete route.proxy.port;
  return route;
}

/** A cache key part for a route: verdicts are kept per (host, port, address, proxy). */
export function routeKey(route) {
  const p = route?.proxy;
  const proxy = !p ? "-" : p.host ? `${p.scheme}://${p.host}:${p.port ?? ""}` : p.mode;
  return `${route?.address ?? "-"}|${proxy}`;
}
