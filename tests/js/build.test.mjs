/** build/build_extension.mjs assembles a complete Firefox extension from the shared tree. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../../build/build_extension.mjs";

const EXTENSION_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "extension");

test("the Firefox build holds the manifest and every file it names, and no other adapter", () => {
  const out = mkdtempSync(join(tmpdir(), "rs-build-"));
  try {
    build("firefox", out);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    const named = [
      ...m.background.scripts, m.action.default_popup, ...Object.values(m.action.default_icon), m.options_ui.page,
      ...Object.values(m.icons), ...m.web_accessible_resources.flatMap((w) => w.resources),
      "_locales/en/messages.json", "_locales/ru/messages.json", "_locales/kk/messages.json",
      "src/core/background.js", "src/firefox/capture.js", "blocked/blocked.js", "help/en/banned.html", "help/ru/intercepted.html", "help/kk/refused.html", "icons/toolbar/neutral-16.png",
    ];
    for (const f of named) assert.ok(existsSync(join(out, f)), `missing ${f}`);
    assert.equal(existsSync(join(out, "src", "chromium")), false);
    assert.equal(existsSync(join(out, "manifests")), false);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("an unknown browser is an error, not an empty build", () => {
  assert.throws(() => build("netscape", join(tmpdir(), "rs-never")), /no manifest for netscape/);
});

/** Chromium's extension id of a manifest `key`: SHA-256 of the DER SPKI, first 32 hex digits mapped 0-f -> a-p. */
async function chromiumId(keyB64) {
  const digest = Buffer.from(await crypto.subtle.digest("SHA-256", Buffer.from(keyB64, "base64"))).toString("hex");
  return [...digest.slice(0, 32)].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join("");
}

test("the Chromium build: MV3 service worker, fixed id, managed schema, PNG icons, only the Chromium adapter", async () => {
  const out = mkdtempSync(join(tmpdir(), "rs-build-"));
  try {
    build("chromium", out);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    assert.equal(m.manifest_version, 3);
    assert.deepEqual(m.background, { service_worker: "src/chromium/background.js", type: "module" });
    for (const p of ["nativeMessaging", "storage", "webRequest", "webNavigation", "tabs", "notifications"]) assert.ok(m.permissions.includes(p), p);
    assert.ok(!m.permissions.includes("debugger"), "the default build asks for no debugger");
    assert.equal(m.optional_permissions, undefined, "Chromium refuses to grant debugger as an optional permission: it is in the debugger build");
    assert.deepEqual(m.host_permissions, ["<all_urls>"]);
    assert.equal(m.storage.managed_schema, "managed_schema.json");
    const schema = JSON.parse(readFileSync(join(out, "managed_schema.json"), "utf8"));
    assert.deepEqual(schema.properties.capture.enum, ["probe", "debugger"]);
    const named = [m.background.service_worker, m.action.default_popup, m.options_ui.page, ...Object.values(m.icons),
      ...Object.values(m.action.default_icon), "src/chromium/capture.js", "src/chromium/debugger.js", "src/chromium/probecache.js",
      "src/core/background.js", "blocked/blocked.html"];
    for (const f of named) assert.ok(existsSync(join(out, f)), `missing ${f}`);
    for (const icon of Object.values(m.icons)) assert.match(icon, /\.png$/, "Chromium takes no SVG icons");
    assert.equal(existsSync(join(out, "src", "firefox")), false);
    assert.equal(m.browser_specific_settings, undefined);
    // the id the installer's allowed_origins lists (native_host/install/extension_ids.py)
    const ids = readFileSync(join(EXTENSION_ROOT, "..", "native_host", "install", "extension_ids.py"), "utf8");
    const unpacked = ids.match(/CHROMIUM_UNPACKED_ID = "([a-p]{32})"/)[1];
    assert.equal(await chromiumId(m.key), unpacked);
    const pyKey = [...ids.match(/CHROMIUM_UNPACKED_KEY = \(([\s\S]*?)\)/)[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]).join("");
    assert.equal(m.key, pyKey);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("--with-debugger adds the debugger permission to the Chromium build only", () => {
  const out = mkdtempSync(join(tmpdir(), "rs-build-"));
  try {
    build("chromium", out, { withDebugger: true });
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    assert.ok(m.permissions.includes("debugger"));
    assert.throws(() => build("firefox", out, { withDebugger: true }), /chromium build only/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("an unknown target is one line naming the targets, exit 2, no stack trace", async () => {
  const { spawnSync } = await import("node:child_process");
  const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "build_extension.mjs");
  const run = spawnSync(process.execPath, [script, "safari"], { encoding: "utf8" });
  assert.equal(run.status, 2);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], /no target "safari"; the targets are chromium, firefox/);
  assert.doesNotMatch(run.stderr, /at build|node:internal/);
});

test("a build error (debugger build for Firefox) is one line, exit 1", async () => {
  const { spawnSync } = await import("node:child_process");
  const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "build_extension.mjs");
  const out = mkdtempSync(join(tmpdir(), "rs-build-"));
  try {
    const run = spawnSync(process.execPath, [script, "firefox", "--with-debugger", "--out", out], { encoding: "utf8" });
    assert.equal(run.status, 1);
    assert.equal(run.stderr.trim(), "build_extension: --with-debugger is for the chromium build only");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
