/**
 * What the generators in build/ (make_help.mjs, make_icons.mjs) share: write their files, or with `--check`
 * compare the committed ones with a fresh generation and exit 1 naming each stale file.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * @param {[string, string|Buffer][]} files  [path, contents]
 * @param {string} script  the generator to run, named in the stale message
 * @param {string[]} argv  the command line (`--check` compares instead of writing)
 */
export function writeOrCheck(files, script, argv) {
  if (argv.includes("--check")) {
    let stale = 0;
    for (const [target, contents] of files) {
      let committed = null;
      try { committed = readFileSync(target); } catch { committed = null; }
      if (!committed || !committed.equals(Buffer.from(contents))) { console.error(`${target} is stale: run node ${script}`); stale++; }
    }
    process.exit(stale ? 1 : 0);
  }
  for (const [target, contents] of files) {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, contents);
  }
}
