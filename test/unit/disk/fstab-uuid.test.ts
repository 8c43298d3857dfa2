import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFstab } from '../../../agent/disk/fstab.js';
import { nameFstabByUuid, planWithFstabUuids } from '../../../agent/disk/fstab-uuid.js';
import { planDisks } from '../../../agent/plan/disk-plan.js';
import { parseLayoutXml } from '../../../agent/plan/layout-xml.js';
import type { Runner } from '../../../agent/exec/runner.js';
import { Reporter } from '../../../agent/report/events.js';
import { fakeDisk } from './fake-devices.js';

const layout = (file: string) => parseLayoutXml(readFileSync(join(resolve('fixtures/layouts'), file), 'utf8'), `disks-layouts/${file}`);
const U6 = '11111111-2222-3333-4444-555555555556';
const U7 = '11111111-2222-3333-4444-555555555557';

describe('fstab by UUID', () => {
  const { plan } = planDisks(layout('msdos-extended.xml'), [fakeDisk('loop2', 1024)], { allowed: ['/dev/loop2'] });

  it('the plan marks device-named entries only (not LABEL=, proc, devpts)', () => {
    expect(plan.fstab.filter((l) => l.device).map((l) => `${l.layoutDevice} ${l.device}`)).toEqual(['/dev/sda6 /dev/loop2p6', '/dev/sda7 /dev/loop2p7', '/dev/cdrom /dev/cdrom']);
  });

  it('names each by UUID with the layout name and the install-time name as a comment', () => {
    const text = formatFstab({ ...plan, fstab: nameFstabByUuid(plan.fstab, { '/dev/loop2p6': U6, '/dev/loop2p7': U7 }) });
    expect(text).toBe(
      'LABEL=/\t/\text4\tdefaults\t1\t1\n'
      + 'LABEL=/boot\t/boot\text3\tdefaults\t1\t2\n'
      + 'none\t/dev/pts\tdevpts\tgid=5,mode=620\t0\t0\n'
      + 'none\t/proc\tproc\tdefaults\t0\t0\n'
      + `# /dev/sda6 (installed as /dev/loop2p6)\nUUID=${U6}\tswap\tswap\tdefaults\t0\t0\n`
      + `# /dev/sda7 (installed as /dev/loop2p7)\nUUID=${U7}\t/var\text2\tdefaults\t1\t2\n`
      + '/dev/cdrom\t/mnt/cdrom\tudf,iso9660\tnoauto,owner,kudzu,ro\t0\t0\n',
    );
    expect(text).not.toMatch(/^\/dev\/loop/m);
  });

  it('asks blkid for the filesystems of the plan only; one without a UUID keeps its name, with a warning', async () => {
    const asked: string[] = [];
    const run = (async (_tool: string, args: string[]) => {
      const dev = args.at(-1)!;
      asked.push(dev);
      return { code: dev.endsWith('p7') ? 0 : 2, stdout: dev.endsWith('p7') ? `${U7}\n` : '', stderr: '' };
    }) as unknown as Runner;
    const report = new Reporter();
    const warnings: string[] = [];
    report.addSink((e) => void (e.type === 'log' && e.level === 'warn' && warnings.push(e.message)));
    const out = await planWithFstabUuids(plan, run, report);
    expect(asked).toEqual(['/dev/loop2p6', '/dev/loop2p7']);
    expect(formatFstab(out)).toMatch(new RegExp(`^UUID=${U7}\\t/var\\t`, 'm'));
    expect(formatFstab(out)).toMatch(/^\/dev\/loop2p6\tswap\t/m);
    expect(warnings.join('\n')).toMatch(/\/dev\/loop2p6 has no filesystem UUID/);
    expect(formatFstab(plan), 'the checked plan itself is left as it was').toMatch(/^\/dev\/loop2p7\t\/var/m);
  });
});
