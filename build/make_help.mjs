#!/usr/bin/env node
/**
 * Writes the guide the popup links, extension/help/<lang>/<verdict>.html, from docs/banned-root.md (en),
 * docs/banned-root.ru.md and docs/banned-root.kk.md, so it is the same text as the docs, bundled, with no
 * external URL, in the person's language (issue 24 item 7). Each source has blocks for one verdict
 * (`<!-- for: banned -->`, `intercepted`, `refused`; `<!-- for: all -->` for every page), so each page's
 * title and first section follow the verdict the popup showed (extension/src/core/advice.js guidePath).
 *
 *   node build/make_help.mjs           write the pages
 *   node build/make_help.mjs --check   exit 1 when a committed page differs from a fresh one
 *
 * The converter knows only the Markdown the guide uses: `#`..`###` headings, paragraphs, `1.` and `-`
 * lists (continuation lines indented), fenced code blocks, `inline code` and **bold**; HTML comments are
 * dropped. Everything is HTML-escaped first; anything else stays literal text.
 */
import { readFileSync, rmSync } from "node:fs";
import { writeOrCheck } from "./fresh.mjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const LANGS = Object.freeze(["en", "ru", "kk"]);
export const VERDICTS = Object.freeze(["banned", "intercepted", "refused"]);

/** The Markdown source of a language's guide. */
export function sourceOf(lang) {
  return join(ROOT, "docs", lang === "en" ? "banned-root.md" : `banned-root.${lang}.md`);
}

/** The page written for a language and a verdict (advice.js guidePath gives the same path). */
export function targetOf(lang, verdict) {
  return join(ROOT, "extension", "help", lang, `${verdict}.html`);
}

const MARKER = /^<!-- for: (banned|intercepted|refused|all) -->$/;

/**
 * The Markdown of one verdict's page: lines outside every `for:` block and those in `for: all` or in that
 * verdict's block. Throws on a `for:` line naming no known verdict (a typo would drop text silently).
 */
export function forVerdict(md, verdict) {
  let current = "all";
  const out = [];
  for (const line of md.replace(/\r\n/g, "\n").split("\n")) {
    const m = MARKER.exec(line.trim());
    if (m) { current = m[1]; continue; }
    if (/^<!-- for:/.test(line.trim())) throw new Error(`unknown guide block: ${line}`);
    if (current === "all" || current === verdict) out.push(line);
  }
  return out.join("\n");
}

/** `md` without HTML comments (the source's notes to translators and its block markers). */
function dropComments(md) {
  return md.replace(/<!--[\s\S]*?-->/g, "");
}

const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Inline markup on escaped text: `code` first (its content stays literal), then **bold**. */
function inline(text) {
  return escape(text).split(/(`[^`]*`)/).map((part) => (part.startsWith("`") && part.endsWith("`") && part.length > 1
    ? `<code>${part.slice(1, -1)}</code>`
    : part.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>"))).join("");
}

/** Converts the guide's Markdown to an HTML body. */
export function toHtml(md) {
  const lines = dropComments(md).replace(/\r\n/g, "\n").split("\n");
  const out = [];
  let title = "";
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    if (line.startsWith("```")) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      i++;
      out.push(`<pre><code>${escape(code.join("\n"))}</code></pre>`);
      continue;
    }
    const h = /^(#{1,3}) (.*)$/.exec(line);
    if (h) {
      if (h[1].length === 1 && !title) title = h[2];
      out.push(`<h${h[1].length}>${inline(h[2])}</h${h[1].length}>`);
      i++;
      continue;
    }
    const item = /^(\d+\.|-) /;
    if (item.test(line)) {
      const ordered = /^\d/.test(line);
      const items = [];
      while (i < lines.length && item.test(lines[i]) && /^\d/.test(lines[i]) === ordered) {
        const text = [lines[i].replace(item, "")];
        for (i++; i < lines.length && /^ {2,}\S/.test(lines[i]); i++) text.push(lines[i].trim());
        items.push(`  <li>${inline(text.join(" "))}</li>`);
      }
      const tag = ordered ? "ol" : "ul";
      out.push(`<${tag}>\n${items.join("\n")}\n</${tag}>`);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !/^(#{1,3} |```)/.test(lines[i]) && !item.test(lines[i])) para.push(lines[i++].trim());
    out.push(`<p>${inline(para.join(" "))}</p>`);
  }
  return { title, body: out.join("\n") };
}

/** The whole page of a language's guide (`md`: its whole source) for one verdict. */
export function page(md, lang = "en", verdict = "banned") {
  const { title, body } = toHtml(forVerdict(md, verdict));
  const source = lang === "en" ? "docs/banned-root.md" : `docs/banned-root.${lang}.md`;
  return `<!DOCTYPE html>
<!-- Generated by build/make_help.mjs from ${source}: edit that file, then run the script. -->
<html lang="${lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width">
  <title>${escape(title)}</title>
  <link rel="stylesheet" href="../src/core/ui.css">
</head>
<body class="help">
<main>
${body}
</main>
</body>
</html>
`;
}

/** Every page: [path, contents]. */
export function pages() {
  const out = [];
  for (const lang of LANGS) {
    const md = readFileSync(sourceOf(lang), "utf8");
    for (const verdict of VERDICTS) out.push([targetOf(lang, verdict), page(md, lang, verdict)]);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // the single English page of before
  if (!process.argv.includes("--check")) rmSync(join(ROOT, "extension", "help", "banned-root.html"), { force: true });
  writeOrCheck(pages(), "build/make_help.mjs", process.argv);
}
