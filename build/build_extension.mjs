#!/usr/bin/env node
/**
 * Assembles one browser's extension directory from the shared source tree (uBlock Origin style:
 * a shared core plus a thin per-browser adapter and manifest; docs/design.md "Components").
 *
 *   node build/build_extension.mjs firefox|chromium [--with-debugger] [--out DIR]
 *       (default DIR: dist/<browser>, or dist/chromium-debugger with --with-debugger)
 *
 * Copies extension/{_locales,icons,popup,options,blocked,help,src/core} and extension/src/<browser>/,
 * plus the files the manifest names that live outside those folders (Chromium's
 * `storage.managed_schema`), and writes extension/manifests/<browser>.json as manifest.json.
 * Nothing is fetched or generated: the result is the source, so `web-ext lint`,
 * `webExtension.install` and Chromium's `--load-extension` see exactly what ships.
 *
 * `--with-debugger` (Chromium only) adds the `debugger` permission, for debugger mode
 * (src/chromium/debugger.js). It cannot be an optional permission: with it in
 * `optional_permissions`, Chromium 156 refuses `permissions.request({permissions: ["debugger"]})`
 * ("Only permissions specified in the manifest may be requested.", seen here), so debugger mode
 * needs this separate build, whose install prompt warns about the debugger (extension/README.md).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "extension");
const SHARED = ["_locales", "icons", "popup", "options", "blocked", "help", "src/core"];

/**
 * Builds the extension for `browser` into `out` (emptied first).
 * @param {string} browser  "firefox" or "chromium" (one manifest in extension/manifests/ and one
 *   adapter folder in extension/src/ each)
 * @param {string} out  output directory
 * @param {{withDebugger?: boolean}} [opts]
 * @returns {string} the output directory
 * @throws {Error} when the browser has no manifest or adapter, or `withDebugger` is asked for Firefox
 */
export function build(browser, out, { withDebugger = false } = {}) {
  const manifestPath = join(SRC, "manifests", `${browser}.json`);
  const adapter = join(SRC, "src", browser);
  if (!existsSync(manifestPath)) throw new Error(`no manifest for ${browser}: ${manifestPath}`);
  if (!existsSync(join(adapter, "background.js"))) throw new Error(`no adapter for ${browser}: ${adapter}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const part of SHARED) cpSync(join(SRC, part), join(out, part), { recursive: true });
  cpSync(adapter, join(out, "src", browser), { recursive: true, filter: (p) => !p.endsWith(".md") });
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  if (withDebugger) {
    if (browser !== "chromium") throw new Error("--with-debugger is for the chromium build only");
    manifest.permissions = [...new Set([...(manifest.permissions ?? []), "debugger"])];
  }
  // Chromium validates managed storage against a schema file named in the manifest (Chrome
  // "Manifest - storage"); Firefox needs none (browser-apis.md 4.1).
  const schema = manifest.storage?.managed_schema;
  if (schema) cpSync(join(SRC, schema), join(out, schema));
  writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return out;
}

/**
 * The browsers this tree can build: those with a manifest in extension/manifests/ and an adapter
 * (extension/src/<browser>/background.js).
 * @returns {string[]} e.g. ["chromium", "firefox"], sorted
 */
export function targets() {
  return readdirSync(join(SRC, "manifests"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .filter((b) => existsSync(join(SRC, "src", b, "background.js")))
    .sort();
}

const USAGE = "usage: node build/build_extension.mjs firefox|chromium [--with-debugger] [--out DIR]";

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf("--out");
  const browser = args.find((a, j) => !a.startsWith("--") && (i === -1 || j !== i + 1)) ?? "firefox";
  const withDebugger = args.includes("--with-debugger");
  const known = targets();
  if (!known.includes(browser)) {
    // one line naming what can be built, not a stack trace (issue 10)
    console.error(`build_extension: no target ${JSON.stringify(browser)}; the targets are ${known.join(", ")} (${USAGE})`);
    process.exit(2);
  }
  if (i !== -1 && !args[i + 1]) {
    console.error(`build_extension: --out needs a folder (${USAGE})`);
    process.exit(2);
  }
  const out = i !== -1 ? resolve(args[i + 1]) : join(ROOT, "dist", withDebugger ? `${browser}-debugger` : browser);
  try {
    console.log(build(browser, out, { withDebugger }));
  } catch (err) {
    console.error(`build_extension: ${err.message}`);
    process.exit(1);
  }
}
