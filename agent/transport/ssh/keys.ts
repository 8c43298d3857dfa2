// SSH keys for both SSH transports: private keys to log in with, authorized_keys to let in, SHA256 fingerprints.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { SiError } from '../../errors.js';

export interface PrivateKey {
  file: string;
  /** ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, ... */
  type: string;
  data: Buffer;
}

export interface AuthorizedKey {
  type: string;
  /** The public key blob (what the client offers). */
  blob: Buffer;
  comment: string;
  /** Where it came from, `file:line`. */
  source: string;
  verify(data: Buffer, signature: Buffer, hashAlgo?: string): boolean;
}

/** The private key files the initrd may carry, in the order they are tried (SPEC 7). */
export const DEFAULT_KEY_NAMES: readonly string[] = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** `SHA256:<base64 without padding>` of a public key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** True when text is a fingerprint in the `SHA256:...` form (43 base64 characters). */
export function isFingerprint(text: string): boolean {
  return /^SHA256:[A-Za-z0-9+/]{43}$/.test(text);
}

/** Reads and checks private keys: the given files, or those of DEFAULT_KEY_NAMES present in sshDir. */
export function readPrivateKeys(files: readonly string[], sshDir: string): PrivateKey[] {
  const chosen = files.length > 0 ? [...files] : DEFAULT_KEY_NAMES.map((n) => join(sshDir, n)).filter((f) => existsSync(f));
  if (chosen.length === 0) {
    throw new SiError('E_SSH', `no SSH private key: none of ${DEFAULT_KEY_NAMES.map((n) => join(sshDir, n)).join(', ')} exists; bake one in with boot-package --ssh-key or give install --ssh-key FILE`);
  }
  return chosen.map((file) => {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      throw new SiError('E_SSH', `cannot read SSH private key ${file}: ${(err as Error).message}`);
    }
    const parsed = ssh2.utils.parseKey(data);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) throw new SiError('E_SSH', `${file} is not a usable SSH private key: ${key instanceof Error ? key.message : 'no key in it'}`);
    if (!key.isPrivateKey()) throw new SiError('E_SSH', `${file} holds a public key, not a private one`);
    return { file, type: key.type, data };
  });
}

/** Parses authorized_keys text (OpenSSH format; options before the key type are not supported and are reported). */
export function parseAuthorizedKeys(text: string, source: string): { keys: AuthorizedKey[]; problems: string[] } {
  const keys: AuthorizedKey[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source}:${i + 1}`;
    const parsed = ssh2.utils.parseKey(line);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) {
      problems.push(`${where}: not a public key (${key instanceof Error ? key.message : 'empty'}); options before the key type are not supported`);
      return;
    }
    const comment = line.split(/\s+/).slice(2).join(' ');
    keys.push({
      type: key.type,
      blob: key.getPublicSSH() as Buffer,
      comment,
      source: where,
      verify: (data, sig, hashAlgo) => key.verify(data, sig, hashAlgo) === true,
    });
  });
  return { keys, problems };
}
