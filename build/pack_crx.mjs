#!/usr/bin/env node
/**
 * Packs the Chromium-family extension as a CRX3 signed with the administrator's key, and writes the
 * update manifest (`updates.xml`) that Chrome, Chromium, Edge and Brave poll for a self-hosted
 * extension (ExtensionInstallForcelist "<id>;<update url>").
 *
 *   node build/pack_crx.mjs --key KEY.pem --base-url https://intranet.example/rootsentinel [--out DIR]
 *     -> DIR/rootsentinel-chromium-VERSION.crx, DIR/updates.xml, DIR/chromium-extension-id.txt
 *
 * The extension id is derived from the key (SHA-256 of its DER SubjectPublicKeyInfo, first 32 hex
 * digits mapped 0-f to a-p: chromium components/crx_file/id_util.cc). A browser accepts an update
 * only when it is signed with the same key, so the key must be kept (off the fleet, backed up) and
 * used for every later version; a lost key means a new id and a new rollout. When KEY.pem does not
 * exist a new 4096-bit RSA key is generated there (mode 0600) and the script says so.
 *
 * Packing and signing are done by the npm package `crx3` (CRX3 framing, protobuf header, signature);
 * the packed build has no manifest `key` (that key only fixes the unpacked id; in a CRX the header's
 * key decides). `SOURCE_DATE_EPOCH` fixes the zip entries' time.
 */
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import crx3 from "crx3";
import { build } from "./build_extension.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The Chromium extension id of a PEM private key.
 * @param {string} pem  PKCS#1 or PKCS#8 RSA private key
 * @returns {string} 32 letters a-p
 */
export function extensionIdOfKey(pem) {
  const spki = createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
  const hex = createHash("sha256").update(spki).digest("hex").slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join("");
}

/**
 * Builds, packs and signs the extension and writes its update manifest.
 * @param {{key: string, baseUrl: string, out: string, withDebugger?: boolean}} opts
 *   key: path of the PEM signing key (created when missing); baseUrl: http(s) URL of the folder that
 *   will serve the .crx and updates.xml; out: output folder
 * @returns {Promise<{crx: string, updates: string, id: string, version: string, newKey: boolean, updateUrl: string}>}
 * @throws {Error} for a base URL that is not http(s)
 */
export async function packCrx({ key, baseUrl, out, withDebugger = false }) {
  if (!/^https?:\/\/[^/\s]+/.test(baseUrl)) throw new Error(`--base-url must be an http(s) URL: ${JSON.stringify(baseUrl)}`);
  const base = baseUrl.replace(/\/+$/, "");
  const work = mkdtempSync(join(tmpdir(), "rootsentinel-crx-"));
  try {
    const src = build("chromium", join(work, "ext"), { withDebugger });
    const manifest = JSON.parse(readFileSync(join(src, "manifest.json"), "utf8"));
    delete manifest.key; // the CRX header's key decides the id of a packed extension
    writeFileSync(join(src, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    mkdirSync(out, { recursive: true });
    const newKey = !existsSync(key);
    if (newKey) mkdirSync(dirname(resolve(key)), { recursive: true });
    const name = `rootsentinel-chromium-${manifest.version}.crx`;
    const crxPath = join(out, name);
    const xmlPath = join(out, "updates.xml");
    const epoch = Number(process.env.SOURCE_DATE_EPOCH);
    const info = await crx3([src], {
      keyPath: key,
      crxPath,
      xmlPath,
      crxURL: `${base}/${name}`,
      appVersion: manifest.version,
      ...(epoch > 0 ? { forceDateTime: epoch * 1000 } : {}),
    });
    if (newKey) chmodSync(key, 0o600);
    const id = extensionIdOfKey(readFileSync(key, "utf8"));
    if (info.appId && info.appId !== id) throw new Error(`crx3 made id ${info.appId}, the key says ${id}`);
    writeFileSync(join(out, "chromium-extension-id.txt"), `${id}\n`);
    return { crx: crxPath, updates: xmlPath, id, version: manifest.version, newKey, updateUrl: `${base}/updates.xml` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const USAGE = "usage: node build/pack_crx.mjs --key KEY.pem --base-url URL [--out DIR] [--with-debugger]";

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  const key = opt("--key");
  const baseUrl = opt("--base-url");
  if (!key || !baseUrl) {
    console.error(`pack_crx: --key and --base-url are required (${USAGE})`);
    process.exit(2);
  }
  try {
    const r = await packCrx({ key, baseUrl, out: resolve(opt("--out") ?? join(ROOT, "dist")),
                              withDebugger: args.includes("--with-debugger") });
    if (r.newKey) {
      console.error(`pack_crx: NEW signing key ${key} (mode 0600). Keep it off the fleet and back it up: every later `
        + `version must be signed with it, or browsers see a different extension (id ${r.id}).`);
    }
    console.log(`${r.crx}\n${r.updates}\nextension id: ${r.id}\nupdate URL: ${r.updateUrl}`);
  } catch (err) {
    console.error(`pack_crx: ${err.message}`);
    process.exit(1);
  }
}
