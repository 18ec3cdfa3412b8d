/**
 * Chromium-family background entry: the MV3 service worker (`background.service_worker` with
 * `"type": "module"`, extension/manifests/chromium.json). Everything is registered synchronously at
 * the top level, as a service worker must (it is stopped when idle and restarted by the next event).
 */
import { startBackground } from "../core/background.js";
import { registerCapture } from "./capture.js";

let capture = null;
const sentinel = startBackground(globalThis.chrome, (api, s) => { capture = registerCapture(api, s); }, { client: "chromium" });
// For the worker's DevTools console and the end-to-end tests (tests/e2e/chromium.py).
globalThis.rootSentinel = { sentinel, capture };
