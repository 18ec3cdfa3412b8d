/**
 * Source rules: no HTML parsing sinks anywhere in the extension (certificate fields are
 * attacker-controlled; docs/design.md "Rules"), no remote code, and the manifest the tests rely on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { EXTENSION, walk } from "./fake-browser.mjs";

test("no innerHTML, outerHTML, insertAdjacentHTML, document.write, eval or new Function", () => {
  const sinks = /\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\s*\(|new\s+Function|setHTML|createContextualFragment|DOMParser)\b/;
  const hits = [];
  for (const file of walk(EXTENSION).filter((p) => /\.(js|html)$/.test(p))) {
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      if (sinks.test(line)) hits.push(`${relative(EXTENSION, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, []);
});

test("no remote scripts or inline scripts in the pages", () => {
  for (const file of walk(EXTENSION).filter((p) => p.endsWith(".html"))) {
    const html = readFileSync(file, "utf8");
    for (const m of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(m[1], /src="[^":]+\.js"/, `${relative(EXTENSION, file)}: script must be a local file`);
      assert.equal(m[2].trim(), "", `${relative(EXTENSION, file)}: inline script`);
    }
    assert.doesNotMatch(html, /\son[a-z]+=/i, `${relative(EXTENSION, file)}: inline event handler`);
  }
});

test("the Firefox manifest has the id, host permissions and APIs the design needs", () => {
  const m = JSON.parse(readFileSync(join(EXTENSION, "manifests", "firefox.json"), "utf8"));
  assert.equal(m.manifest_version, 3);
  assert.equal(m.browser_specific_settings.gecko.id, "rootsentinel@rootsentinel.io");
  assert.equal(m.default_locale, "en");
  assert.deepEqual(m.background, { scripts: ["src/firefox/background.js"], type: "module" });
  for (const p of ["webRequest", "webRequestBlocking", "nativeMessaging", "storage", "webNavigation", "tabs", "notifications"]) {
    assert.ok(m.permissions.includes(p), p);
  }
  assert.deepEqual(m.host_permissions, ["<all_urls>"]);
  assert.match(m.content_security_policy.extension_pages, /script-src 'self'/);
});
