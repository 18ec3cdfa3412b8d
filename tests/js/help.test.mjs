/**
 * The bundled guide (extension/help/<lang>/<verdict>.html) is docs/banned-root{,.ru,.kk}.md as
 * build/make_help.mjs makes it: in every language, one page per verdict whose title and first section follow
 * that verdict (issue 24 item 7), and the popup links the page of its language and verdict.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LANGS, VERDICTS, forVerdict, page, pages, sourceOf, targetOf, toHtml } from "../../build/make_help.mjs";
import { GUIDE_LANGS, GUIDE_VERDICTS, guidePath } from "../../extension/src/core/advice.js";
import { EXTENSION } from "./fake-browser.mjs";

test("every committed guide page equals a fresh regeneration from its source", () => {
  const fresh = pages();
  assert.equal(fresh.length, 9);
  for (const [target, html] of fresh) assert.equal(readFileSync(target, "utf8"), html, `${target}: run node build/make_help.mjs`);
  assert.equal(existsSync(join(EXTENSION, "help", "banned-root.html")), false, "the single English page of before is gone");
});

test("the popup's guide path is a generated page for every language and verdict", () => {
  assert.deepEqual([...GUIDE_LANGS], [...LANGS]);
  assert.deepEqual([...GUIDE_VERDICTS], [...VERDICTS]);
  for (const lang of LANGS) {
    for (const verdict of VERDICTS) assert.equal(join(EXTENSION, guidePath(lang, verdict)), targetOf(lang, verdict));
  }
});

const titleOf = (html) => /<title>([^<]*)<\/title>/.exec(html)[1];
const firstSection = (html) => /<h2>[^<]*<\/h2>\n<p>([^<]*(?:<[^h][^<]*)*)<\/p>/.exec(html)[1];

test("each page's title and first section follow its verdict, in its own language", () => {
  for (const lang of LANGS) {
    const titles = new Set();
    const firsts = new Set();
    for (const verdict of VERDICTS) {
      const html = readFileSync(targetOf(lang, verdict), "utf8");
      assert.match(html, new RegExp(`<html lang="${lang}">`));
      titles.add(titleOf(html));
      firsts.add(firstSection(html));
      if (lang !== "en") assert.match(titleOf(html), /[\u0400-\u04ff]/, `${lang}/${verdict} title is not translated`);
    }
    assert.equal(titles.size, 3, `${lang}: one title per verdict`);
    assert.equal(firsts.size, 3, `${lang}: one first section per verdict`);
  }
  const en = (v) => readFileSync(targetOf("en", v), "utf8");
  assert.match(titleOf(en("banned")), /banned root/);
  assert.match(titleOf(en("intercepted")), /intercepted/);
  assert.match(titleOf(en("refused")), /refused/);
  assert.doesNotMatch(titleOf(en("intercepted")) + titleOf(en("refused")), /banned/);
  assert.match(en("refused"), /protected you/);
  assert.match(en("intercepted"), /I know this root/);
});

test("every page has the removal steps for every browser and system, and no script or external link", () => {
  for (const [, html] of pages()) {
    for (const s of ["certutil -D -d sql:$HOME/.pki/nssdb", "certutil -user -delstore Root", "security delete-certificate -Z",
      "update-ca-certificates", "update-ca-trust", "rootsentinel scan", "--undo BACKUP", "--include-interception"]) assert.ok(html.includes(s), s);
    assert.doesNotMatch(html, /<script|https?:\/\/|\son\w+=|<!-- for:/i);
  }
  assert.ok(readFileSync(targetOf("en", "banned"), "utf8").includes("Delete or Distrust"));
});

test("the sources have the same blocks in every language", () => {
  const blocks = (lang) => [...readFileSync(sourceOf(lang), "utf8").matchAll(/^<!-- for: (\w+) -->$/gm)].map((m) => m[1]);
  for (const lang of LANGS) assert.deepEqual(blocks(lang), ["banned", "intercepted", "refused", "all"], lang);
  const headings = (lang, v) => (forVerdict(readFileSync(sourceOf(lang), "utf8"), v).match(/^#{1,3} /gm) ?? []).length;
  for (const v of VERDICTS) for (const lang of LANGS) assert.equal(headings(lang, v), headings("en", v), `${lang}/${v}: headings`);
});

test("the converter escapes markup, drops comments, knows only its subset, and refuses an unknown block", () => {
  const { body } = toHtml("# T <x>\n\n<!-- a note\nover lines -->\npara `a<b>` **bold** <script>\n\n1. one\n   more\n2. two\n\n- u\n\n```\n<i>&\n```\n");
  assert.equal(body, [
    "<h1>T &lt;x&gt;</h1>", "<p>para <code>a&lt;b&gt;</code> <strong>bold</strong> &lt;script&gt;</p>",
    "<ol>\n  <li>one more</li>\n  <li>two</li>\n</ol>", "<ul>\n  <li>u</li>\n</ul>", "<pre><code>&lt;i&gt;&amp;</code></pre>",
  ].join("\n"));
  const md = "intro\n<!-- for: banned -->\n# B\n<!-- for: refused -->\n# R\n<!-- for: all -->\ntail\n";
  assert.equal(forVerdict(md, "banned"), "intro\n# B\ntail\n");
  assert.equal(forVerdict(md, "intercepted"), "intro\ntail\n");
  assert.match(page(md, "ru", "refused"), /<title>R<\/title>/);
  assert.throws(() => forVerdict("<!-- for: baned -->\nx", "banned"), /unknown guide block/);
});
