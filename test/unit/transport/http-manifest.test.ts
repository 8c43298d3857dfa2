// Unit: the publish manifest's parser and trust decision (pinned key, fingerprint, TOFU, unsigned, truncated, altered),
// the HTTP parameter values, and IMAGING_COMPLETE_URL's substitution.

import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign } from 'node:crypto';
import { checkManifestTrust, findArtefact, parseManifest } from '../../../agent/transport/http/manifest.js';
import { checkHttpKind, keyFingerprint, parseManifestKey, parseProxy } from '../../../agent/params/http-values.js';
import { completionRequest } from '../../../agent/transport/http/notify.js';
import { artefactUrl } from '../../../agent/transport/http/artefact.js';
import { checkValue } from '../../../agent/params/validate.js';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { privateKey, raw, b64: raw.toString('base64'), fp: keyFingerprint(raw) };
}

const A = { path: 'images/deb.tar.zst', kind: 'image', name: 'deb', size: 10, sha256: 'a'.repeat(64), created: '2024-01-01T00:00:00Z', tree: 'b'.repeat(64) };

function manifest(k: ReturnType<typeof keyPair> | null, artefacts: unknown[] = [A, { ...A, path: 'scripts.tar.zst', kind: 'scripts', name: 'scripts' }]): Buffer {
  return Buffer.from(JSON.stringify({ format: 'si-agent-publish/1', tool: 'si-agent 0.1.0', created: '2024-01-01T00:00:00Z', key: k?.b64 ?? null, fingerprint: k?.fp ?? null, artefacts }, null, 2));
}
const sigOf = (bytes: Buffer, k: ReturnType<typeof keyPair>) => sign(null, bytes, k.privateKey).toString('base64');
const URL_ = 'http://10.0.0.1/pub/manifest.json';

describe('publish manifest', () => {
  const k = keyPair();
  const other = keyPair();
  const bytes = manifest(k);
  const m = parseManifest(bytes, URL_);

  it('parses artefacts and finds them by kind and name', () => {
    expect(m.fingerprint).toBe(k.fp);
    expect(findArtefact(m, 'image', 'deb')?.sha256).toBe('a'.repeat(64));
    expect(findArtefact(m, 'scripts', '')?.path).toBe('scripts.tar.zst');
    expect(findArtefact(m, 'override', 'x')).toBeUndefined();
  });

  it('refuses a truncated manifest, a wrong format, unsafe paths and bad digests, naming the URL and field', () => {
    expect(() => parseManifest(bytes.subarray(0, bytes.length - 20), URL_)).toThrow(/manifest http:\/\/10\.0\.0\.1\/pub\/manifest\.json is not JSON \(truncated/);
    expect(() => parseManifest(Buffer.from('{"format":"x/2"}'), URL_)).toThrow(/format "x\/2"/);
    expect(() => parseManifest(manifest(k, [{ ...A, path: '../etc/passwd' }]), URL_)).toThrow(/artefacts\[0\]\.path/);
    expect(() => parseManifest(manifest(k, [{ ...A, path: 'images/../../x.tar.zst' }]), URL_)).toThrow(/artefacts\[0\]\.path/);
    expect(() => parseManifest(manifest(k, [{ ...A, sha256: 'XYZ' }]), URL_)).toThrow(/artefacts\[0\]\.sha256/);
    const lying = JSON.parse(bytes.toString()) as Record<string, unknown>;
    lying.fingerprint = other.fp;
    expect(() => parseManifest(Buffer.from(JSON.stringify(lying)), URL_)).toThrow(/says fingerprint/);
  });

  it('with MANIFEST_KEY (key or fingerprint): a good signature passes, pinned', () => {
    expect(checkManifestTrust(bytes, sigOf(bytes, k), m, parseManifestKey(k.b64), URL_)).toEqual({ signed: true, pinned: true, fingerprint: k.fp });
    expect(checkManifestTrust(bytes, sigOf(bytes, k) + '\n', m, parseManifestKey(k.fp), URL_)).toEqual({ signed: true, pinned: true, fingerprint: k.fp });
  });

  it('with MANIFEST_KEY: unsigned, signed by another key, altered, or naming another key is refused', () => {
    expect(() => checkManifestTrust(bytes, null, m, parseManifestKey(k.b64), URL_)).toThrow(/refused: it is unsigned/);
    expect(() => checkManifestTrust(bytes, sigOf(bytes, other), m, parseManifestKey(k.b64), URL_)).toThrow(/refused: the signature does not verify with MANIFEST_KEY/);
    const altered = Buffer.from(bytes.toString().replace('"size": 10', '"size": 11'));
    expect(() => checkManifestTrust(altered, sigOf(bytes, k), parseManifest(altered, URL_), parseManifestKey(k.b64), URL_)).toThrow(/does not verify/);
    // Signed by another key that the manifest names: the fingerprint pin catches it.
    const byOther = manifest(other);
    expect(() => checkManifestTrust(byOther, sigOf(byOther, other), parseManifest(byOther, URL_), parseManifestKey(k.fp), URL_)).toThrow(new RegExp(`names key ${other.fp.replace(/[+/]/g, '.')}, not MANIFEST_KEY`));
    expect(() => checkManifestTrust(bytes, 'bm90IGEgc2ln', m, parseManifestKey(k.b64), URL_)).toThrow(/not a base64 ed25519 signature/);
  });

  it('without MANIFEST_KEY: signed is checked against its own key (trust on first use), unsigned passes as such', () => {
    expect(checkManifestTrust(bytes, sigOf(bytes, k), m, undefined, URL_)).toEqual({ signed: true, pinned: false, fingerprint: k.fp });
    expect(checkManifestTrust(bytes, null, m, undefined, URL_)).toEqual({ signed: false });
    expect(() => checkManifestTrust(bytes, sigOf(bytes, other), m, undefined, URL_)).toThrow(/does not verify with its own key/);
  });
});

describe('HTTP parameter values', () => {
  it('checks URLs, keys, proxies and CA files, saying why', () => {
    expect(checkValue('HTTP_BASE', 'https://cdn.example.com/si/')).toBeUndefined();
    expect(checkValue('HTTP_BASE', 'ftp://x/')).toMatch(/not an http:\/\/ or https:\/\/ URL/);
    expect(checkValue('HTTP_BASE', 'not a url')).toMatch(/is not a URL/);
    expect(checkValue('si.http-base', 'http://u:p@x/')).toMatch(/user name or password/);
    expect(checkValue('MANIFEST_KEY', keyPair().b64)).toBeUndefined();
    expect(checkValue('MANIFEST_KEY', keyPair().fp)).toBeUndefined();
    expect(checkValue('MANIFEST_KEY', Buffer.alloc(31).toString('base64'))).toMatch(/neither a base64 32-byte ed25519 public key nor a SHA256/);
    expect(checkValue('HTTP_PROXY', 'proxy.lan:3128')).toBeUndefined();
    expect(parseProxy('proxy.lan:3128')?.href).toBe('http://proxy.lan:3128/');
    expect(checkValue('HTTP_PROXY', 'https://proxy:3128')).toMatch(/plain HTTP proxy/);
    expect(checkValue('HTTPS_CA', '/nonexistent/ca.pem')).toMatch(/\(CA file\) does not exist/);
    expect(checkHttpKind('pemfile', '/etc/hostname')).toMatch(/holds no PEM certificate/);
    expect(checkValue('IMAGING_COMPLETE_URL', 'POST http://10.0.0.1/done?ip={ip}')).toBeUndefined();
  });

  it('fills IMAGING_COMPLETE_URL URL-encoded; POST when asked', () => {
    const r = completionRequest('http://10.0.0.1/done/{hostname}?ip={ip}', { ip: '10.0.0.5', hostname: 'node 1/&' });
    expect(r.method).toBe('GET');
    expect(r.url.href).toBe('http://10.0.0.1/done/node%201%2F%26?ip=10.0.0.5');
    expect(completionRequest('POST https://x/y', { ip: '1' }).method).toBe('POST');
  });

  it('puts artefacts under the base, keeping a presigned query', () => {
    expect(artefactUrl(new URL('http://h/pub/'), 'images/a.tar.zst').href).toBe('http://h/pub/images/a.tar.zst');
    expect(artefactUrl(new URL('http://h/pub'), 'manifest.json').href).toBe('http://h/pub/manifest.json');
    expect(artefactUrl(new URL('https://s3.example/b/pub?X-Amz-Signature=1'), 'scripts.tar.zst').href).toBe('https://s3.example/b/pub/scripts.tar.zst?X-Amz-Signature=1');
  });
});
