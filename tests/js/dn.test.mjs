/**
 * The DN parser (issue 14): RFC 4514 strings from the host, NSS-quoted strings from Firefox, and
 * hostile input that must neither throw nor hide what it says.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_ATTRIBUTES, MAX_NAME_LENGTH, attribute, displayName, parseDN, readableName, visibleText } from "../../extension/src/core/dn.js";

const t = (key, subs) => `${key}[${(subs ?? []).join("|")}]`;

test("RFC 4514 escaped commas, as the host sends Superfish", () => {
  const rdns = parseDN("CN=Superfish\\, Inc.,O=Superfish\\, Inc.,L=Santa Clara,ST=CA,C=US");
  assert.deepEqual(rdns.map((r) => r.map((a) => [a.type, a.value])), [
    [["CN", "Superfish, Inc."]], [["O", "Superfish, Inc."]], [["L", "Santa Clara"]], [["ST", "CA"]], [["C", "US"]],
  ]);
  assert.equal(displayName(t, "CN=Superfish\\, Inc.,O=Superfish\\, Inc.,L=Santa Clara,ST=CA,C=US"), "Superfish, Inc.");
});

test("NSS / Firefox quoted values and spaces after commas", () => {
  const dn = 'CN=Superfish Test, O="Superfish, Inc.", C=US';
  assert.equal(attribute(parseDN(dn), "O"), "Superfish, Inc.");
  assert.equal(attribute(parseDN(dn), "C"), "US");
  assert.equal(displayName(t, dn), "dn_name_org[Superfish Test|Superfish, Inc.]");
  assert.equal(attribute(parseDN('O="say \\"hi\\", then, + more"'), "O"), 'say "hi", then, + more');
});

test("escaped plus, quote, backslash, equals and a multi-valued RDN", () => {
  const rdns = parseDN('CN=a\\+b\\"c\\\\d\\=e+OU=unit,O=Org');
  assert.deepEqual(rdns[0], [{ type: "CN", value: 'a+b"c\\d=e' }, { type: "OU", value: "unit" }]);
  assert.deepEqual(rdns[1], [{ type: "O", value: "Org" }]);
});

test("hex escapes, including multi-byte UTF-8, and invalid UTF-8 becomes U+FFFD", () => {
  assert.equal(attribute(parseDN("CN=Qaznet\\2C Trust"), "CN"), "Qaznet, Trust");
  // "Қазақ" as escaped UTF-8 bytes
  assert.equal(attribute(parseDN("CN=\\D2\\9A\\D0\\B0\\D0\\B7\\D0\\B0\\D2\\9B"), "CN"), "Қазақ");
  assert.equal(attribute(parseDN("CN=bad\\FF\\FEend"), "CN"), "bad\uFFFD\uFFFDend");
  assert.equal(attribute(parseDN("CN=\\ lead and trail\\ "), "CN"), " lead and trail ");
  assert.equal(attribute(parseDN("CN=trailing   ,O=x"), "CN"), "trailing");
});

test("OIDs and #hex values", () => {
  const rdns = parseDN("2.5.4.3=Named By OID,OID.2.5.4.10=Org,1.2.3.4=#0403414243");
  assert.equal(attribute(rdns, "CN"), "Named By OID");
  assert.equal(attribute(rdns, "O"), "Org");
  assert.equal(attribute(rdns, "1.2.3.4"), "#0403414243");
});

test("hostile input never throws and stays bounded", () => {
  for (const dn of [null, undefined, 42, {}, "", "=", ",,,", "+++", "\\", "CN=\\", 'CN="unterminated', "CN=a\\", "no equals sign",
    "CN=" + "\\2".repeat(5000), "=".repeat(10000), "CN=x,".repeat(10000), '"'.repeat(999), "CN=<img src=x onerror=alert(1)>"]) {
    const rdns = parseDN(dn);
    assert.ok(Array.isArray(rdns));
    assert.ok(rdns.flat().length <= MAX_ATTRIBUTES);
    const name = displayName(t, dn);
    assert.equal(typeof name, "string");
    assert.ok([...name].length <= MAX_NAME_LENGTH * 2 + 40);
  }
  // markup is text, not parsed
  assert.equal(displayName(t, "CN=<b>Evil</b>"), "<b>Evil</b>");
  assert.equal(displayName(t, "CN=\\<b\\>Evil\\</b\\>"), "<b>Evil</b>");
});

test("control and bidi characters are made visible; long names are cut", () => {
  assert.equal(visibleText("good\u202Eliam.exe"), "good<U+202E>liam.exe");
  assert.equal(visibleText("a\nb\u0000c"), "a<U+000A>b<U+0000>c");
  assert.equal(attribute(parseDN("CN=x\\0Ay"), "CN"), "x\ny");
  assert.equal(displayName(t, "CN=x\\0Ay"), "x<U+000A>y");
  const long = visibleText("A".repeat(1000));
  assert.equal([...long].length, MAX_NAME_LENGTH);
  assert.ok(long.endsWith("…"));
});

test("names without CN or O fall back to OU, then the DN made visible", () => {
  assert.deepEqual(readableName("OU=Only Unit,C=KZ"), { cn: "", o: "", fallback: "Only Unit" });
  assert.equal(displayName(t, "C=KZ"), "C=KZ");
  assert.equal(displayName(t, "O=Just Org"), "Just Org");
  assert.equal(displayName(t, "CN=Same,O=Same"), "Same");
});
