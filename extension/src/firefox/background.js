/**
 * Firefox background entry (MV3 event page, `background.scripts` with `"type": "module"`,
 * supported since Firefox 112; MDN manifest.json/background).
 */
import { startBackground } from "../core/background.js";
import { registerCapture } from "./capture.js";

startBackground(globalThis.browser, registerCapture);
