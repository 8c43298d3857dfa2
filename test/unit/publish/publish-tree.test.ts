// publishTree on small trees: the manifest's format and signature, the fingerprint, the incremental decision (unchanged
// trees not packed again, a changed one packed alone), failures that leave the previous tree, errors naming paths, keys.

import { createPublicKey, verify } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTree, type PublishOptions } from '../../../agent/publish/publish.js';
import { generateKey, loadSignKey } from '../../../agent/publish/keys.js';
import { fingerprintOf, verifyManifest } from '../../../agent/publish/manifest.js';
import { SiError } from '../../../agent/errors.js';

let work = '';
let base: PublishOptions;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'si-publish-'));
  for (const d of ['images/alpha/etc', 'images/beta', 'overrides/global', 'scripts/main.d']) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'images/alpha/etc/hostname'), 'alpha\n');
  writeFileSync(join(work, 'images/beta/file'), 'beta\n');
  writeFileSync(join(work, 'overrides/global/motd'), 'hi\n');
  writeFileSync(join(work, 'scripts/main.d/10-x'), '#!/bin/sh\n');
  base = { images: join(work, 'images'), overrides: join(work, 'overrides'), scripts: join(work, 'scripts'), out: join(work, 'out') };
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('publishTree', () => {
  it('writes the fixed format: keys in order, artefacts sorted, a signature node:crypto verifies', async () => {
    const key = join(work, 'key.pem');
    const gen = generateKey(key);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(gen.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(() => generateKey(key)).toThrow(/exists already/);
    const r = await publishTree({ ...base, signKey: key });
    const bytes = readFileSync(join(base.out, 'manifest.json'));
    const text = bytes.toString('utf8');
    expect(text.endsWith('}\n')).toBe(true);
    const m = JSON.parse(text);
    expect(Object.keys(m)).toEqual(['format', 'tool', 'created', 'key', 'fingerprint', 'artefacts']);
    expect(m.format).toBe('si-agent-publish/1');
    expect(m.tool).toMatch(/^si-agent /);
    expect(m.artefacts.map((a: { path: string }) => a.path)).toEqual(['images/alpha.tar.zst', 'images/beta.tar.zst', 'overrides/global.tar.zst', 'scripts.tar.zst']);
    expect(Object.keys(m.artefacts[0])).toEqual(['path', 'kind', 'name', 'size', 'sha256', 'created', 'tree']);
    expect(m.artefacts[3]).toMatchObject({ kind: 'scripts', name: 'scripts' });
    for (const a of m.artefacts) expect(statSync(join(base.out, a.path)).size).toBe(a.size);
    expect(text).toBe(JSON.stringify(m, null, 2) + '\n');
    // The signature: base64 on one line, over the exact bytes, by the key in the manifest, whose fingerprint matches.
    const sig = readFileSync(join(base.out, 'manifest.json.sig'), 'utf8');
    expect(sig).toMatch(/^[A-Za-z0-9+/]+=*\n$/);
    const raw = Buffer.from(m.key, 'base64');
    expect(raw.length).toBe(32);
    expect(m.fingerprint).toBe(gen.fingerprint);
    expect(fingerprintOf(raw)).toBe(m.fingerprint);
    const pub = createPublicKey(readFileSync(`${key}.pub`));
    expect(verify(null, bytes, pub, Buffer.from(sig.trim(), 'base64'))).toBe(true);
    expect(verifyManifest(bytes, sig, raw)).toBe(true);
    const tampered = Buffer.from(text.replace('"alpha"', '"alphb"'));
    expect(verifyManifest(tampered, sig, raw)).toBe(false);
    expect(r.signed).toBe(true);
    expect(loadSignKey(key).asymmetricKeyType).toBe('ed25519');
  });

  it('packs again only what changed; unchanged artefacts keep their entry and created time', async () => {
    const before = JSON.parse(readFileSync(join(base.out, 'manifest.json'), 'utf8'));
    const again = await publishTree(base);
    expect(again.artefacts.map((a) => a.status)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    // Unsigned now: the old signature is gone with the new manifest, key and fingerprint are null.
    expect(existsSync(join(base.out, 'manifest.json.sig'))).toBe(false);
    expect(again.manifest.key).toBeNull();
    expect(again.manifest.fingerprint).toBeNull();
    expect(again.manifest.artefacts).toEqual(before.artefacts);
    writeFileSync(join(work, 'images/beta/file'), 'beta changed\n');
    const third = await publishTree(base);
    expect(third.artefacts.map((a) => [a.name, a.status])).toEqual([['alpha', 'unchanged'], ['beta', 'packed'], ['global', 'unchanged'], ['scripts', 'unchanged']]);
    // A mode or mtime change counts too; contents with the same size and mtime do not (as rsync).
    utimesSync(join(work, 'overrides/global/motd'), 1_000_000, 1_000_000);
    const fourth = await publishTree(base);
    expect(fourth.artefacts.find((a) => a.name === 'global')!.status).toBe('packed');
    // A missing artefact file is packed again even when its tree did not change.
    rmSync(join(base.out, 'images/alpha.tar.zst'));
    expect((await publishTree(base)).artefacts.find((a) => a.name === 'alpha')!.status).toBe('packed');
  });

  it('a failure leaves the previous tree whole; errors name the path and are bad input (E_PARAM)', async () => {
    const manifest = readFileSync(join(base.out, 'manifest.json'));
    const err = await publishTree({ ...base, images: join(work, 'nope') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiError);
    expect((err as SiError).code).toBe('E_PARAM');
    expect((err as Error).message).toBe(`${join(work, 'nope')} does not exist`);
    const e2 = await publishTree({ ...base, imageNames: ['gamma'] }).catch((e: unknown) => e);
    expect((e2 as Error).message).toBe(`${join(work, 'images/gamma')} does not exist`);
    // zstd that fails half way: nothing of the new publish is left, the manifest is the previous one.
    writeFileSync(join(work, 'images/beta/file'), 'beta changed again\n');
    const prevZstd = process.env.SI_TOOL_ZSTD;
    process.env.SI_TOOL_ZSTD = 'false';
    const e3 = await publishTree(base).catch((e: unknown) => e);
    if (prevZstd === undefined) delete process.env.SI_TOOL_ZSTD;
    else process.env.SI_TOOL_ZSTD = prevZstd;
    expect((e3 as Error).message).toMatch(/^packing image beta \(.*images\/beta\): false failed with exit code 1/);
    expect(readFileSync(join(base.out, 'manifest.json')).equals(manifest)).toBe(true);
    expect(existsSync(join(base.out, `.publish-tmp-${process.pid}`))).toBe(false);
  });

  it('with --image, other images published before stay in the manifest', async () => {
    const r = await publishTree({ ...base, imageNames: ['alpha'] });
    expect(r.manifest.artefacts.map((a) => a.path)).toContain('images/beta.tar.zst');
    expect(existsSync(join(base.out, 'images/beta.tar.zst'))).toBe(true);
  });
});
