// Checks and reads the HTTP transport's parameter values: URLs, the manifest key, the proxy and the CA file.

import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/** A MANIFEST_KEY as given: the raw 32-byte ed25519 public key, or only its `SHA256:` fingerprint. */
export type ManifestKey = { kind: 'key'; raw: Buffer; fingerprint: string } | { kind: 'fingerprint'; fingerprint: string };

/** `SHA256:` + unpadded base64 of sha256(raw key), as the publish manifest and ssh-keygen write fingerprints. */
export function keyFingerprint(raw: Buffer): string {
  return `SHA256:${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
}

/** Reads a MANIFEST_KEY value, or undefined when it is neither a 32-byte base64 key nor a SHA256: fingerprint. */
export function parseManifestKey(value: string): ManifestKey | undefined {
  const v = value.trim();
  if (/^SHA256:[A-Za-z0-9+/]{43}$/.test(v)) return { kind: 'fingerprint', fingerprint: v };
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(v)) return undefined;
  const raw = Buffer.from(v, 'base64');
  return raw.length === 32 ? { kind: 'key', raw, fingerprint: keyFingerprint(raw) } : undefined;
}

/** Why a value is not an http:// or https:// URL with a host, or undefined when it is one. */
export function checkHttpUrl(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value.replace(/^POST\s+/, ''));
  } catch {
    return 'is not a URL (http://host/path or https://host/path)';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `is not an http:// or https:// URL (scheme ${u.protocol})`;
  if (!u.hostname) return 'has no host';
  if (u.username || u.password) return 'carries a user name or password (not supported: use a presigned or private URL)';
  return undefined;
}

/** HTTP_PROXY as a URL: `http://host:port`, or `host:port` (taken as http://); undefined when malformed. */
export function parseProxy(value: string): URL | undefined {
  const v = value.trim();
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`);
    return u.protocol === 'http:' && u.hostname && !u.username && (u.pathname === '/' || u.pathname === '') ? u : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a PEM CA file; throws an Error saying why it cannot be used (missing, unreadable, no certificate in it). */
export function readCaFile(path: string): string {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error('is not a regular file');
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'does not exist' : code ? `cannot be read (${code})` : (err as Error).message);
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new Error('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new Error(`holds a certificate that does not parse: ${(err as Error).message}`);
    }
  }
  return text;
}

/** Why a value of one of the HTTP kinds is not acceptable, or undefined (checkValue's cases for these kinds). */
export function checkHttpKind(kind: 'url' | 'proxy' | 'edkey' | 'pemfile', value: string): string | undefined {
  switch (kind) {
    case 'url':
      return checkHttpUrl(value);
    case 'proxy':
      return parseProxy(value) ? undefined : 'is not a plain HTTP proxy (http://host:port or host:port)';
    case 'edkey':
      return parseManifestKey(value) ? undefined : 'is neither a base64 32-byte ed25519 public key nor a SHA256:... fingerprint (43 base64 characters)';
    case 'pemfile':
      try {
        readCaFile(value);
        return undefined;
      } catch (err) {
        return `(CA file) ${(err as Error).message}`;
      }
  }
}
