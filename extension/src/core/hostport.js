/**
 * One persistent connection to the native messaging host, with request ids, a timeout per request
 * and reconnection with backoff.
 *
 * Why one port: `runtime.connectNative` keeps one host process for the port's lifetime, whereas
 * `runtime.sendNativeMessage` starts a new process per message (MDN "Native messaging",
 * https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/Native_messaging, and
 * runtime.connectNative). Messages and replies carry an `id` that the host echoes (docs/protocol.md).
 *
 * When the host is missing (no host manifest, path not executable) or crashes, Firefox fires
 * `port.onDisconnect` and sets `port.error` (MDN runtime.Port, "error"); every request in flight
 * then fails with {@link HostError} code `host_unreachable`, and new requests fail fast until the
 * next reconnect attempt is due.
 */

/** Failure of a host request: `code` is `host_unreachable`, `timeout` or the host's error code. */
export class HostError extends Error {
  /**
   * @param {string} code  `host_unreachable` | `timeout` | an error code from the host's `error` reply
   * @param {string} message  one line, shown as text in the popup (never as HTML)
   */
  constructor(code, message) {
    super(message);
    this.name = "HostError";
    this.code = code;
  }
}

/**
 * The browser's words for "there is no usable host manifest" (as opposed to a host that started and then
 * crashed): Firefox "No such native application <name>" (NativeMessaging.sys.mjs), Chromium "Specified
 * native messaging host not found." and "Access to the specified native messaging host is forbidden."
 * (native_message_process_host.cc). Installing the host fixes these at once, so a navigation retries
 * without waiting for the back-off (issue 24 item 10).
 */
export const HOST_MISSING = /no such native application|native messaging host not found|native messaging host is forbidden/i;

/** Delays before reconnect attempts after consecutive failures, in milliseconds. */
export const DEFAULT_BACKOFF_MS = Object.freeze([1000, 2000, 5000, 10000, 30000, 60000]);

export class HostPort {
  /**
   * @param {object} opts
   * @param {object} opts.runtime  `browser.runtime` (needs `connectNative`)
   * @param {string} opts.name  host name, `io.rootsentinel.host`
   * @param {() => object} [opts.hello]  builds the `hello` request (without id) sent first on every connection
   * @param {() => Promise<any>} [opts.helloReady]  resolves when `hello` can be built (the settings it
   *   carries have loaded): the port opens at once, so a missing host is known at once, and hello and
   *   every request after it wait for this (omitted: hello is sent at once)
   * @param {number} [opts.timeoutMs]  default per-request timeout
   * @param {number[]} [opts.backoffMs]  reconnect delays after consecutive failures
   * @param {(status: object) => void} [opts.onStatus]  called with {connected, error, hello} on changes
   * @param {() => number} [opts.now]  clock (ms), injectable for tests
   * @param {typeof setTimeout} [opts.setTimer]
   * @param {typeof clearTimeout} [opts.clearTimer]
   */
  constructor({ runtime, name, hello, helloReady, timeoutMs = 10000, backoffMs = DEFAULT_BACKOFF_MS, onStatus,
    now = () => Date.now(), setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (h) => clearTimeout(h) }) {
    this.runtime = runtime;
    this.name = name;
    this.helloBuilder = hello ?? (() => ({ type: "hello" }));
    this.helloReady = helloReady ?? null;
    this.helloPosted = null; // while hello waits for helloReady: resolves once it was posted
    this.waiting = new Set(); // requests waiting for hello: {reject}
    this.timeoutMs = timeoutMs;
    this.backoffMs = backoffMs;
    this.onStatus = onStatus ?? (() => {});
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.port = null;
    this.nextId = 1;
    this.pending = new Map();
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = null;
    this.helloReply = null;
  }

  /** True while a port is open (the host may still fail to answer). */
  get connected() {
    return this.port !== null;
  }

  /** Status snapshot for the popup: whether the host answered, its `hello` reply, the last error. */
  status() {
    return { connected: this.connected, hello: this.helloReply, error: this.lastError, failures: this.failures };
  }

  /** Opens the port now unless it is open, and sends `hello`. Returns false when waiting for backoff. */
  connect({ force = false } = {}) {
    if (this.port) return true;
    if (!force && this.now() < this.retryAt) return false;
    let port;
    try {
      port = this.runtime.connectNative(this.name);
    } catch (e) {
      this._failed(String(e?.message ?? e));
      return false;
    }
    this.port = port;
    port.onMessage.addListener((msg) => this._onMessage(port, msg));
    port.onDisconnect.addListener((p) => this._onDisconnect(port, p));
    // hello first on every connection: it carries the managed policy for this connection.
    const sendHello = () => {
      if (this.port !== port) return;
      const hello = { ...this.helloBuilder() };
      this.request(hello).then((reply) => {
        if (reply && reply.type === "hello") {
          this.helloReply = reply;
          this.failures = 0;
          this.lastError = null;
          this.onStatus(this.status());
        }
      }, () => {});
    };
    if (this.helloReady) {
      const posted = Promise.resolve().then(() => this.helloReady()).catch(() => {}).then(sendHello);
      this.helloPosted = posted;
      posted.then(() => { if (this.helloPosted === posted) this.helloPosted = null; });
    } else {
      this.helloPosted = null;
      sendHello();
    }
    return true;
  }

  /**
   * A page navigation started (webNavigation.onBeforeNavigate): when the last failure said the host is
   * missing ({@link HOST_MISSING}), try again now instead of after the back-off, so the first reload after
   * `rootsentinel install` works. A host that crashes keeps its back-off. Returns whether a port is open.
   */
  navigated() {
    if (this.port) return true;
    if (this.lastError && HOST_MISSING.test(this.lastError)) return this.connect({ force: true });
    return false;
  }

  /** Closes the port (e.g. after the policy changed) and fails what is in flight. */
  disconnect(reason = "disconnected") {
    const port = this.port;
    if (!port) return;
    this.port = null;
    try { port.disconnect(); } catch { /* already closed */ }
    this._rejectAll(new HostError("host_unreachable", reason));
  }

  /**
   * Sends one request and resolves with the host's reply (a `verdict`, `hello`, ...). An `error`
   * reply rejects with {@link HostError} carrying the host's code.
   * @param {object} message  request without `id`
   * @param {{timeoutMs?: number}} [opts]
   * @returns {Promise<object>}
   */
  request(message, { timeoutMs } = {}) {
    if (!this.port && !this.connect()) {
      return Promise.reject(new HostError("host_unreachable", this.lastError ?? "host not connected"));
    }
    const id = this.nextId++;
    const port = this.port;
    const afterHello = message.type === "hello" ? null : this.helloPosted;
    return new Promise((resolve, reject) => {
      const send = () => {
        if (port !== this.port) {
          reject(new HostError("host_unreachable", this.lastError ?? "native host disconnected"));
          return;
        }
        const timer = this.setTimer(() => {
          if (this.pending.delete(id)) reject(new HostError("timeout", `no reply to ${message.type} ${id}`));
        }, timeoutMs ?? this.timeoutMs);
        this.pending.set(id, { resolve, reject, timer });
        try {
          port.postMessage({ ...message, id });
        } catch (e) {
          this.pending.delete(id);
          this.clearTimer(timer);
          reject(new HostError("host_unreachable", String(e?.message ?? e)));
        }
      };
      if (!afterHello) {
        send();
        return;
      }
      // Behind hello (its settings are loading); a disconnect meanwhile fails it at once.
      const entry = { reject };
      this.waiting.add(entry);
      afterHello.then(() => {
        if (!this.waiting.delete(entry)) return;
        send();
      });
    });
  }

  _onMessage(port, msg) {
    if (port !== this.port || msg === null || typeof msg !== "object") return;
    const entry = this.pending.get(msg.id);
    if (!entry) return; // late reply after a timeout, or an error frame with id null
    this.pending.delete(msg.id);
    this.clearTimer(entry.timer);
    if (msg.type === "error") entry.reject(new HostError(String(msg.code ?? "internal"), String(msg.message ?? "")));
    else entry.resolve(msg);
  }

  _onDisconnect(port, p) {
    if (port !== this.port) return;
    this.port = null;
    // Firefox puts the reason on port.error; Chrome on runtime.lastError (MDN runtime.Port).
    const err = p?.error?.message ?? this.runtime.lastError?.message ?? "native host disconnected";
    this._failed(err);
    this._rejectAll(new HostError("host_unreachable", err));
  }

  _failed(message) {
    this.lastError = message;
    this.helloReply = null;
    const delay = this.backoffMs[Math.min(this.failures, this.backoffMs.length - 1)];
    this.failures += 1;
    this.retryAt = this.now() + delay;
    this.onStatus(this.status());
  }

  _rejectAll(error) {
    for (const entry of this.waiting) entry.reject(error);
    this.waiting.clear();
    for (const [id, entry] of this.pending) {
      this.clearTimer(entry.timer);
      entry.reject(error);
      this.pending.delete(id);
    }
  }
}
