// Boot tier (needs root and qemu-system-x86_64; TCG, no KVM): a UYOK package built around "the golden client's"
// kernel and modules — the cached Debian kernel stands in for it — boots in QEMU and the agent starts as /init.
// (--my-modules needs /proc/modules, which this test VM's kernel does not have; the explicit module tree is used.)

import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBootPackage, type PackageResult } from '../../initrd-build/build-package.ts';
import { canBoot, PROJECT_DIR, removeTestDir } from './package-fixture.ts';
import { bootQemu, tailOf } from './qemu.ts';

const KERNELS = join(PROJECT_DIR, '.cache/kernel');

describe.skipIf(!canBoot())('boot UYOK: the golden client kernel and modules', () => {
  let dir: string | undefined;
  let pkg: PackageResult;

  beforeAll(async () => {
    // The standard flavor's build (another boot test, or the demo) has cached the Debian kernel; make sure it is there.
    if (!existsSync(KERNELS) || readdirSync(KERNELS).filter((v) => !v.startsWith('.')).length === 0) {
      const warm = mkdtempSync(join(tmpdir(), 'si-uyok-warm.'));
      await buildBootPackage({ projectDir: PROJECT_DIR, out: warm, flavor: 'standard', media: false });
      removeTestDir(warm);
    }
    const version = readdirSync(KERNELS).filter((v) => !v.startsWith('.'))[0]!;
    dir = mkdtempSync(join(tmpdir(), 'si-uyok.'));
    pkg = await buildBootPackage({
      projectDir: PROJECT_DIR,
      out: join(dir, 'pkg'),
      flavor: 'uyok',
      kernelImage: join(KERNELS, version, 'boot', `vmlinuz-${version}`),
      modulesDir: join(KERNELS, version, 'lib/modules', version),
      append: 'console=ttyS0 panic=-1',
      media: false,
    });
  }, 400_000);
  afterAll(() => removeTestDir(dir));

  it('records the flavor and kernel, boots, and the agent runs as /init', async () => {
    const m = JSON.parse(readFileSync(join(pkg.dir, 'manifest.json'), 'utf8'));
    expect(m.flavor).toBe('uyok');
    expect(m.kernel.version).toBe(pkg.kernel.version);
    const r = await bootQemu({
      workDir: dir!,
      kernel: join(pkg.dir, 'kernel'),
      initrd: join(pkg.dir, 'initrd.img'),
      append: 'console=ttyS0 panic=-1',
      until: /si-agent PID 1: mounted[\s\S]*boot: modules loaded at \+[\d.]+ s \(\d+ modprobe request\(s\), [1-9]\d* module\(s\) in the kernel\)/,
      timeoutMs: 200_000,
    });
    expect(r.matched, `serial log:\n${tailOf(r.log)}`).toBe(true);
    expect(r.log).toContain(`Linux version ${pkg.kernel.version}`);
  }, 300_000);
});
