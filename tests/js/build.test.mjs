/** build/build_extension.mjs assembles a complete Firefox extension from the shared tree. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../../build/build_extension.mjs";

test("the Firefox build holds the manifest and every file it names, and no other adapter", () => {
  const out = mkdtempSync(join(tmpdir(), "rs-build-"));
  try {
    build("firefox", out);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    const named = [
      ...m.background.scripts, m.action.default_popup, m.action.default_icon, m.options_ui.page,
      ...Object.values(m.icons), ...m.web_accessible_resources.flatMap((w) => w.resources),
      "_locales/en/messages.json", "_locales/ru/messages.json", "_locales/kk/messages.json",
      "src/core/background.js", "src/firefox/capture.js", "blocked/blocked.js",
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
