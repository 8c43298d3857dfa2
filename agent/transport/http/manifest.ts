// The publish tree's manifest.json: parsed strictly, its ed25519 signature checked against MANIFEST_KEY or its own key.

import { createPublicKey, verify } from 'node:crypto';
import { SiError } from '../../errors.js';
import { keyFingerprint, type ManifestKey } from '../../params/http-values.js';

export const MANIFEST_FORMAT = 'si-agent-publish/1';

export interface Artefact {
  path: string;
  kind: 'image' | 'override' | 'scripts';
  name: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  tool: string;
  created: string;
  key: Buffer | null;
  fingerprint: string | null;
  artefacts: Artefact[];
}

/** How the manifest was trusted: signed and checked against a pinned key, signed by its own (unpinned) key, or unsigned. */
export type Trust = { signed: true; pinned: boolean; fingerprint: string } | { signed: false };

const fail = (url: string, why: string) => new SiError('E_TRANSFER', `manifest ${url} ${why}`);

/** Where each kind of artefact lives in the tree. */
const PATHS: Record<Artefact['kind'], RegExp> = { image: /^images\/[^/]+\.tar\.zst$/, override: /^overrides\/[^/]+\.tar\.zst$/, scripts: /^scripts\.tar\.zst$/ };

/** Reads manifest.json's bytes; any missing field, wrong type or unsafe path is an error naming the URL and the field. */
export function parseManifest(bytes: Buffer, url: string): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw fail(url, `is not JSON (truncated or damaged, ${bytes.length} bytes): ${(err as Error).message}`);
  }
  const m = doc as Record<string, unknown>;
  if (typeof m !== 'object' || m === null) throw fail(url, 'is not a JSON object');
  if (m.format !== MANIFEST_FORMAT) throw fail(url, `has format ${JSON.stringify(m.format)}, not ${MANIFEST_FORMAT}`);
  let key: Buffer | null = null;
  if (m.key !== null && m.key !== undefined) {
    key = typeof m.key === 'string' ? Buffer.from(m.key, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) throw fail(url, 'has a key that is not a base64 32-byte ed25519 public key');
  }
  const fingerprint = typeof m.fingerprint === 'string' ? m.fingerprint : null;
  if (key && fingerprint && keyFingerprint(key) !== fingerprint) throw fail(url, `says fingerprint ${fingerprint} for a key whose fingerprint is ${keyFingerprint(key)}`);
  if (!Array.isArray(m.artefacts)) throw fail(url, 'has no artefacts list');
  const artefacts = m.artefacts.map((a: Record<string, unknown>, i: number): Artefact => {
    const where = `artefacts[${i}]`;
    if (typeof a !== 'object' || a === null) throw fail(url, `${where} is not an object`);
    const kind = a.kind as Artefact['kind'];
    if (!(kind in PATHS)) throw fail(url, `${where}.kind ${JSON.stringify(a.kind)} is not image, override or scripts`);
    if (typeof a.path !== 'string' || !PATHS[kind].test(a.path) || a.path.includes('..')) throw fail(url, `${where}.path ${JSON.stringify(a.path)} is not where a ${kind} lives`);
    if (typeof a.name !== 'string' || a.name === '') throw fail(url, `${where}.name is missing`);
    if (typeof a.size !== 'number' || !Number.isSafeInteger(a.size) || a.size < 0) throw fail(url, `${where}.size is not a byte count`);
    if (typeof a.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(a.sha256)) throw fail(url, `${where}.sha256 is not a lower-case hex sha256`);
    return { path: a.path, kind, name: a.name, size: a.size, sha256: a.sha256 };
  });
  return { tool: String(m.tool ?? ''), created: String(m.created ?? ''), key, fingerprint: key ? keyFingerprint(key) : null, artefacts };
}

/** Verifies an ed25519 signature over the exact bytes with a raw 32-byte public key. */
export function verifyEd25519(raw: Buffer, data: Buffer, sig: Buffer): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return sig.length === 64 && verify(null, data, key, sig);
}

/**
 * Decides whether the manifest may be used. With a pinned key (MANIFEST_KEY) it must be signed, by that key (or the key
 * with that fingerprint); without one a signature is still checked against the manifest's own key, and the caller says
 * which key it trusted (trust on first use). sigText: the .sig file's text, or null when there is none.
 */
export function checkManifestTrust(bytes: Buffer, sigText: string | null, manifest: Manifest, pin: ManifestKey | undefined, url: string): Trust {
  const refuse = (why: string) => new SiError('E_TRANSFER', `manifest ${url} refused: ${why}`);
  if (sigText === null) {
    if (pin) throw refuse(`it is unsigned (no ${url}.sig) and MANIFEST_KEY ${pin.fingerprint} is set`);
    return { signed: false };
  }
  const sig = Buffer.from(sigText.trim(), 'base64');
  if (!/^[A-Za-z0-9+/]+=*$/.test(sigText.trim()) || sig.length !== 64) throw refuse(`${url}.sig is not a base64 ed25519 signature (64 bytes)`);
  const raw = pin?.kind === 'key' ? pin.raw : manifest.key;
  if (!raw) throw refuse('it is signed but names no key, and MANIFEST_KEY holds only a fingerprint');
  if (pin && pin.kind === 'fingerprint' && keyFingerprint(raw) !== pin.fingerprint) throw refuse(`it names key ${keyFingerprint(raw)}, not MANIFEST_KEY ${pin.fingerprint}`);
  if (!verifyEd25519(raw, bytes, sig)) {
    const whose = pin ? `MANIFEST_KEY ${pin.fingerprint}` : `its own key ${keyFingerprint(raw)}`;
    const named = pin && manifest.key && keyFingerprint(manifest.key) !== pin.fingerprint ? ` (it names key ${keyFingerprint(manifest.key)})` : '';
    throw refuse(`the signature does not verify with ${whose}${named}: signed by another key, or the manifest was altered`);
  }
  return { signed: true, pinned: pin !== undefined, fingerprint: keyFingerprint(raw) };
}

/** The artefact of a kind and name, if the manifest lists it. */
export function findArtefact(m: Manifest, kind: Artefact['kind'], name: string): Artefact | undefined {
  return m.artefacts.find((a) => a.kind === kind && (kind === 'scripts' || a.name === name));
}
