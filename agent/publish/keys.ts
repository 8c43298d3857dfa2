// The publisher's ed25519 key: `--gen-key FILE` makes one (PKCS8 PEM, 0600, never overwriting; FILE.pub as SPKI PEM);
// `--sign-key FILE` loads it.

import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { SiError } from '../errors.js';
import { fingerprintOf, rawPublicKey } from './manifest.js';
import { treeError } from './tree-list.js';

/** Writes a new key pair to file and file.pub; returns the fingerprint. Refuses to replace either file. */
export function generateKey(file: string): { fingerprint: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const priv = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const pub = publicKey.export({ format: 'pem', type: 'spki' }) as string;
  for (const [path, text, mode] of [[file, priv, 0o600], [`${file}.pub`, pub, 0o644]] as const) {
    try {
      writeFileSync(path, text, { flag: 'wx', mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SiError('E_PARAM', `${path} exists already: --gen-key never overwrites a key (remove it first, or choose another name)`);
      throw treeError(path, err);
    }
  }
  const raw = rawPublicKey(publicKey);
  return { fingerprint: fingerprintOf(raw), publicKey: raw.toString('base64') };
}

/** Loads a PKCS8 PEM ed25519 private key; errors name the file. */
export function loadSignKey(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw treeError(file, err);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new SiError('E_PARAM', `${file} is not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SiError('E_PARAM', `${file} is a ${key.asymmetricKeyType} key; publish signs with ed25519 (make one with si-agent publish --gen-key FILE)`);
  return key;
}
