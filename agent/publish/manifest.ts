// The publish tree's manifest (format si-agent-publish/1): building, writing in its fixed key order, reading back, and the
// ed25519 signature over its exact bytes.

import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { SiError } from '../errors.js';

export const MANIFEST_FORMAT = 'si-agent-publish/1';

export type ArtefactKind = 'image' | 'override' | 'scripts';

export interface Artefact {
  path: string;
  kind: ArtefactKind;
  name: string;
  size: number;
  sha256: string;
  created: string;
  tree: string;
}

export interface Manifest {
  format: string;
  tool: string;
  created: string;
  key: string | null;
  fingerprint: string | null;
  artefacts: Artefact[];
}

/** The raw 32-byte ed25519 public key of a key (private or public). */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) throw new SiError('E_PARAM', `the key is not an ed25519 key (${String(jwk.kty)} ${String(jwk.crv)})`);
  return Buffer.from(jwk.x, 'base64url');
}

/** `SHA256:<base64 without padding>` of the raw public key, as ssh-keygen -l shows fingerprints. */
export function fingerprintOf(raw: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(raw).digest('base64').replace(/=+$/, '');
}

/** The public KeyObject of a raw 32-byte ed25519 key. */
export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** The manifest's bytes: keys in the format's order, 2-space indent, trailing newline; artefacts sorted by path. */
export function serializeManifest(m: Manifest): Buffer {
  const artefacts = [...m.artefacts]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((a) => ({ path: a.path, kind: a.kind, name: a.name, size: a.size, sha256: a.sha256, created: a.created, tree: a.tree }));
  const ordered = { format: m.format, tool: m.tool, created: m.created, key: m.key, fingerprint: m.fingerprint, artefacts };
  return Buffer.from(JSON.stringify(ordered, null, 2) + '\n', 'utf8');
}

/** Reads a manifest this tool wrote; anything else is an error naming the file. */
export function parseManifest(bytes: Buffer, file: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch (err) {
    throw new SiError('E_PARAM', `${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (m?.format !== MANIFEST_FORMAT || !Array.isArray(m.artefacts)) throw new SiError('E_PARAM', `${file} is not a ${MANIFEST_FORMAT} manifest`);
  for (const a of m.artefacts) {
    if (typeof a?.path !== 'string' || typeof a.size !== 'number' || !/^[0-9a-f]{64}$/.test(String(a.sha256)) || typeof a.tree !== 'string') {
      throw new SiError('E_PARAM', `${file}: artefact ${JSON.stringify(a?.path)} is malformed`);
    }
  }
  return m;
}

/** The detached signature file's text: base64 of the ed25519 signature over the manifest's bytes, one line. */
export function signManifest(bytes: Buffer, key: KeyObject): string {
  return sign(null, bytes, key).toString('base64') + '\n';
}

/** True when sigText is a valid signature of bytes by the raw public key. */
export function verifyManifest(bytes: Buffer, sigText: string, rawKey: Buffer): boolean {
  const sig = Buffer.from(sigText.trim(), 'base64');
  if (sig.length !== 64) return false;
  return verify(null, bytes, publicKeyFromRaw(rawKey), sig);
}
