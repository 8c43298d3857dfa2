// Unit: the si-agent command line (SPEC 14) parses into a typed command; anything unknown is a usage error.

import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../../agent/cli-args.js';
import { SiError } from '../../../agent/errors.js';

describe('parseCliArgs', () => {
  it.each([
    [['version'], { command: 'version' }],
    [['--version'], { command: 'version' }],
    [['install', '--disk', '/dev/loop7', '--disk=/dev/loop8', '--sysroot', '/mnt/t'], { command: 'install', disks: ['/dev/loop7', '/dev/loop8'], sysroot: '/mnt/t' }],
    [['plan', '--json', '--cmdline', 'IMAGESERVER=10.0.0.1 HOSTNAME=n1', '--local-cfg', 'a.cfg', '--local-cfg', 'b.cfg'], { command: 'plan', json: true, cmdline: 'IMAGESERVER=10.0.0.1 HOSTNAME=n1', localCfg: ['a.cfg', 'b.cfg'] }],
    [['install', '--network', '--perform-post-action', '--rsync-port', '10873'], { command: 'install', network: true, performPostAction: true, rsyncPort: 10873 }],
  ])('%j', (argv, expected) => {
    expect(parseCliArgs(argv)).toMatchObject(expected);
  });

  it.each([
    [[], /usage/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['install', '--disk'], /--disk needs a value/],
    [['install', '--bogus'], /unknown option "--bogus"/],
    [['plan', '--json=yes'], /--json takes no value/],
    [['install', '--rsync-port', '70000'], /--rsync-port: "70000" is not a port/],
    [['plan', '--cmdline', 'A=1', '--cmdline-file', '/proc/cmdline'], /either --cmdline or --cmdline-file/],
  ])('refuses %j', (argv, message) => {
    let err: unknown;
    try {
      parseCliArgs(argv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiError);
    expect((err as SiError).code).toBe('E_USAGE');
    expect((err as SiError).message).toMatch(message);
  });
});
