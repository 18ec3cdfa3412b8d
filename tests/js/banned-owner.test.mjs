/**
 * A banned root's owner (issue 25): the host's verdict carries `interceptor.owner` and a kind of banned root
 * (state, vendor, compromised-ca, distrusted-ca); the popup's follow-up sentence says who holds the root, in
 * every language, with no placeholder left over. Without an owner the earlier "its name says" sentence stays.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { translator } from "../../extension/src/core/i18n.js";
import { OWNER_KIND, explainMore } from "../../extension/src/core/explain.js";
import { fakeBrowser } from "./fake-browser.mjs";

for (const lang of ["en", "ru", "kk"]) {
  const t = translator(fakeBrowser({ lang }).i18n);

  test(`${lang}: every kind of banned root names its owner`, () => {
    const seen = new Set();
    for (const kind of Object.keys(OWNER_KIND)) {
      const who = { product: "P", vendor: "V", kind, owner: `Owner <${kind}>`, advice: "state-root", by: "spki_sha256" };
      for (const rec of [{ level: "banned", category: "state-mitm", names: { product: "P", vendor: "V" }, verdict: { interceptor: who } },
        { level: "banned", category: "state-mitm", names: { product: "P", vendor: "V" }, interceptor: who }]) {
        const [line] = explainMore(t, rec);
        assert.ok(line.includes(`Owner <${kind}>`), `${lang} ${kind}: ${line}`);
        assert.doesNotMatch(line, /\$|kind_|explain_/);
        seen.add(line);
      }
    }
    assert.equal(seen.size, Object.keys(OWNER_KIND).length);
  });

  test(`${lang}: a banned root without an owner keeps the product sentence; an unknown kind is not trusted`, () => {
    const named = explainMore(t, { level: "banned", names: { product: "Superfish", vendor: "Superfish, Inc." },
      verdict: { interceptor: { product: "Superfish", vendor: "Superfish, Inc.", kind: "adware" } } });
    assert.equal(named.length, 1);
    assert.ok(named[0].includes("Superfish"));
    const odd = explainMore(t, { level: "banned", names: { product: "X", vendor: "Y" },
      verdict: { interceptor: { kind: "toString", owner: "Z" } } });
    assert.ok(!odd[0].includes("Z") && odd[0].includes("X"), odd[0]);
    assert.deepEqual(explainMore(t, { level: "interception", interceptor: { kind: "state", owner: "Z" } }), []);
  });
}
