/** The bundled guide (extension/help/banned-root.html) is docs/banned-root.md as build/make_help.mjs makes it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { SOURCE, TARGET, page, toHtml } from "../../build/make_help.mjs";
import { GUIDE_PATH } from "../../extension/src/core/advice.js";

test("the committed guide equals a fresh regeneration from docs/banned-root.md", () => {
  assert.equal(readFileSync(TARGET, "utf8"), page(readFileSync(SOURCE, "utf8")), "run node build/make_help.mjs");
  assert.ok(TARGET.replace(/\\/g, "/").endsWith(`extension/${GUIDE_PATH}`));
});

test("the guide has the removal steps for every browser and system, and no script or external link", () => {
  const html = readFileSync(TARGET, "utf8");
  for (const s of ["Delete or Distrust", "certutil -D -d sql:$HOME/.pki/nssdb", "certutil -user -delstore Root", "security delete-certificate -Z",
    "update-ca-certificates", "update-ca-trust", "rootsentinel scan", "--undo BACKUP"]) assert.ok(html.includes(s), s);
  assert.doesNotMatch(html, /<script|https?:\/\/|\son\w+=/i);
});

test("the converter escapes markup and knows only its subset", () => {
  const { body } = toHtml("# T <x>\n\npara `a<b>` **bold** <script>\n\n1. one\n   more\n2. two\n\n- u\n\n```\n<i>&\n```\n");
  assert.equal(body, [
    "<h1>T &lt;x&gt;</h1>", "<p>para <code>a&lt;b&gt;</code> <strong>bold</strong> &lt;script&gt;</p>",
    "<ol>\n  <li>one more</li>\n  <li>two</li>\n</ol>", "<ul>\n  <li>u</li>\n</ul>", "<pre><code>&lt;i&gt;&amp;</code></pre>",
  ].join("\n"));
});
