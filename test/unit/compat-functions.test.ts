// Run mode's initrd side (initrd-build/compat): the real functions file sourced by dash and bash --posix, the shims
// and si-agent-call against a small responder that answers the calls directory as the agent does, and master-env.sh's
// trace. Fake tools only where the real one cannot be used here: a uname that says i686, an ifconfig that echoes, a
// sleep that fails as a killed one does.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMPAT_FILES } from '../../initrd-build/etc-skeleton.ts';

const COMPAT = resolve(import.meta.dirname, '../../initrd-build/compat');
const FUNCTIONS = join(COMPAT, 'functions');
const CALL = join(COMPAT, 'si-agent-call');
const SHELLS: [string, string[]][] = [
  ['dash', ['dash']],
  ['bash --posix', ['bash', '--posix']],
];

/** Sources the functions, optionally leaves a given last status, runs its arguments, then prints what they left. */
const RUN_SH = `. "$SI_TEST_FUNCTIONS"
if [ -n "\${SI_TEST_LAST_STATUS:-}" ]; then (exit "$SI_TEST_LAST_STATUS"); fi
"$@"
rc=$?
printf '\\n--after--\\nrc=%s\\nARCH=%s\\nSCRIPTS_DIR=%s\\nTORRENTS_DIR=%s\\nFT_DIR=%s\\n' "$rc" "\${ARCH:-}" "$SCRIPTS_DIR" "$TORRENTS_DIR" "$FLAMETHROWER_DIRECTORY_DIR"
`;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv (no shell) with exactly env, resolving when it exits; killed after 15 s. */
function run(argv: string[], env: Record<string, string>, cwd?: string): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('latin1')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', fail);
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

/** What the fixed script printed after its command, or undefined when the command ended the shell. */
function after(stdout: string): Record<string, string> | undefined {
  const at = stdout.indexOf('\n--after--\n');
  if (at < 0) return undefined;
  return Object.fromEntries(
    stdout.slice(at + 11).split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

interface Answer {
  status: number | string;
  out?: string;
}

/** Answers every call made in dir the way the agent does (out, then status by rename) and records each argv. */
function startResponder(dir: string, answer: (argv: string[]) => Answer) {
  const calls: string[][] = [];
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const name of readdirSync(dir)) {
      if (seen.has(name)) continue;
      const d = join(dir, name);
      if (!existsSync(join(d, 'argv'))) continue;
      seen.add(name);
      const raw = readFileSync(join(d, 'argv'), 'utf8');
      expect(raw.endsWith('\0'), `${name}/argv ends with NUL`).toBe(true);
      const argv = raw.slice(0, -1).split('\0');
      calls.push(argv);
      const a = answer(argv);
      if (a.out !== undefined) writeFileSync(join(d, 'out'), a.out);
      writeFileSync(join(d, 'status.tmp'), `${a.status}\n`);
      renameSync(join(d, 'status.tmp'), join(d, 'status'));
    }
  }, 5);
  return { calls, stop: () => clearInterval(timer) };
}

let work: string;
let calls: string;
let runSh: string;
let responder: ReturnType<typeof startResponder> | undefined;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'si-compat-test.'));
  runSh = join(work, 'run.sh');
  writeFileSync(runSh, RUN_SH);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  responder?.stop();
  responder = undefined;
  if (calls) rmSync(calls, { recursive: true, force: true });
});

/** A fresh calls directory answered by answer; returns the recorded calls. */
function respond(answer: (argv: string[]) => Answer = () => ({ status: 0 })): string[][] {
  calls = mkdtempSync(join(work, 'calls.'));
  responder = startResponder(calls, answer);
  return responder.calls;
}

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', SI_TEST_FUNCTIONS: FUNCTIONS, SI_AGENT_CALL: CALL, ...extra };
}

function callsEnv(extra: Record<string, string> = {}): Record<string, string> {
  return baseEnv({ SI_AGENT_CALLS: calls, ...extra });
}

describe.each(SHELLS)('functions under %s', (_name, shell) => {
  const fn = (args: string[], env: Record<string, string>) => run([...shell, runSh, ...args], env);

  it('sets 4.3 directories, overriding inherited values', async () => {
    const r = await fn(['true'], baseEnv({ SCRIPTS_DIR: '/elsewhere' }));
    expect(after(r.stdout)).toMatchObject({ rc: '0', SCRIPTS_DIR: '/scripts', TORRENTS_DIR: '/torrents', FT_DIR: '/var/lib/systemimager/flamethrower' });
  });

  it('get_arch takes uname -m, i?86 as i386', async () => {
    const machine = (await run(['uname', '-m'], baseEnv())).stdout.trim();
    expect(after((await fn(['get_arch'], baseEnv())).stdout)?.ARCH).toBe(/^i.86$/.test(machine) ? 'i386' : machine);
    const fake = join(work, 'fake-uname');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'uname'), '#!/bin/sh\necho i686\n');
    chmodSync(join(fake, 'uname'), 0o755);
    const r = await fn(['get_arch'], baseEnv({ PATH: `${fake}:${process.env.PATH}` }));
    expect(after(r.stdout)?.ARCH).toBe('i386');
  });

  it('logmsg prints its words once, backslashes and all, and nothing else', async () => {
    const r = await fn(['logmsg', 'copying', 'a\\tb', '$(x)'], baseEnv());
    expect(r.stdout.split('\n--after--\n')[0]).toBe('copying a\\tb $(x)\n');
    expect(r.stderr).toBe('');
  });

  it('beep rings count times', async () => {
    const r = await fn(['beep', '3', '0'], baseEnv());
    expect(r.stdout.split('\n--after--\n')[0]).toBe('\x07\x07\x07');
    expect(after(r.stdout)?.rc).toBe('0');
  });

  it('send_monitor_msg is silent without MONITOR_SERVER', async () => {
    const made = respond();
    const r = await fn(['send_monitor_msg', 'status=5'], callsEnv());
    expect(after(r.stdout)?.rc).toBe('0');
    expect(r.stderr).toBe('');
    expect(made).toEqual([]);
  });

  const cases: { name: string; args: string[]; env?: Record<string, string>; answer?: Answer; calls: string[][]; rc?: string; out?: string }[] = [
    { name: 'send_monitor_msg', args: ['send_monitor_msg', 'status=42:speed=7'], env: { MONITOR_SERVER: '10.0.0.1' }, calls: [['monitor', 'status=42:speed=7']] },
    { name: 'start_report_task', args: ['start_report_task'], calls: [['report-start']] },
    { name: 'stop_report_task', args: ['stop_report_task', '101'], answer: { status: 3 }, calls: [['report-stop', '101']], rc: '3' },
    {
      name: 'flamethrower_client with its variables',
      args: ['flamethrower_client'],
      env: { MODULE_NAME: 'my image', DIR: '/a/', RETRY: '3', FLAMETHROWER_TARPIPE: 'y' },
      calls: [['flamethrower', 'my image', '/a/', '3', 'y']],
    },
    {
      name: 'flamethrower_client defaults (RETRY 1, no tarpipe)',
      args: ['flamethrower_client'],
      env: { MODULE_NAME: 'override_x', DIR: '/a/' },
      calls: [['flamethrower', 'override_x', '/a/', '1', 'n']],
    },
    { name: 'bittorrent_autodetect_staging_dir', args: ['bittorrent_autodetect_staging_dir', 'image-x.tar.gz'], answer: { status: 0, out: '/a/tmp\n' }, calls: [['bt-staging', 'image-x.tar.gz']], out: '/a/tmp\n' },
    { name: 'bittorrent_get_file (odd words kept whole)', args: ['bittorrent_get_file', 'a b.torrent', 'dir\nwith $(newline) *'], answer: { status: 2 }, calls: [['bt-get', 'a b.torrent', 'dir\nwith $(newline) *']], rc: '2' },
    { name: 'bittorrent_stop', args: ['bittorrent_stop'], calls: [['bt-stop']] },
    { name: 'run_post_install_scripts', args: ['run_post_install_scripts'], calls: [['post-install']] },
  ];
  for (const c of cases) {
    it(`${c.name} sends its call and returns the answer`, async () => {
      const made = respond(() => c.answer ?? { status: 0 });
      const r = await fn(c.args, callsEnv(c.env));
      expect(made).toEqual(c.calls);
      expect(after(r.stdout)?.rc).toBe(c.rc ?? '0');
      expect(r.stdout.split('\n--after--\n')[0]).toBe(c.out ?? '');
      expect(readdirSync(calls)).toEqual([]);
    });
  }

  it('shellout hands the last status to the agent and exits non-zero', async () => {
    const made = respond();
    const r = await fn(['shellout'], callsEnv({ SI_TEST_LAST_STATUS: '9' }));
    expect(made).toEqual([['shellout', '9']]);
    expect(r.status).toBe(1);
    expect(after(r.stdout)).toBeUndefined();
  });

  it('a failed flamethrower_client or run_post_install_scripts shells out with the call status', async () => {
    for (const [args, first] of [[['flamethrower_client'], 'flamethrower'], [['run_post_install_scripts'], 'post-install']] as const) {
      const made = respond((argv) => ({ status: argv[0] === 'shellout' ? 0 : 4 }));
      const r = await fn([...args], callsEnv({ MODULE_NAME: 'm', DIR: '/a/' }));
      expect(made.map((a) => a[0])).toEqual([first, 'shellout']);
      expect(made[1]).toEqual(['shellout', '4']);
      expect(r.status).toBe(1);
      responder?.stop();
      rmSync(calls, { recursive: true, force: true });
    }
  });

  it('beep_incessantly asks for the beep action and ends the master with 0', async () => {
    const made = respond();
    const r = await fn(['beep_incessantly'], callsEnv());
    expect(made).toEqual([['post-action', 'beep']]);
    expect(r.status).toBe(0);
    expect(after(r.stdout)).toBeUndefined();
  });
});

describe.each(SHELLS)('si-agent-call under %s', (_name, shell) => {
  it('without SI_AGENT_CALLS: exits 70 naming the verb', async () => {
    const r = await run([...shell, CALL, 'monitor', 'status=1'], baseEnv());
    expect(r.status).toBe(70);
    expect(r.stderr).toContain("si-agent-call monitor: not running under si-agent's run mode (SI_AGENT_CALLS unset)");
  });

  it('relays out byte for byte and the status; removes its directory', async () => {
    const made = respond(() => ({ status: 17, out: 'no newline\x01' }));
    const r = await run([...shell, CALL, 'bt-staging', ''], callsEnv());
    expect(made).toEqual([['bt-staging', '']]);
    expect(r).toMatchObject({ status: 17, stdout: 'no newline\x01' });
    expect(readdirSync(calls)).toEqual([]);
  });

  it('exits 70 on a status that is not a number', async () => {
    respond(() => ({ status: 'oops' }));
    expect((await run([...shell, CALL, 'bt-stop'], callsEnv())).status).toBe(70);
  });

  it('keeps waiting when its sleep is killed', async () => {
    const fake = join(work, 'killed-sleep');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'sleep'), '#!/bin/sh\nkill -TERM $$\n');
    chmodSync(join(fake, 'sleep'), 0o755);
    const made = respond((argv) => {
      const t = Date.now();
      while (Date.now() - t < 200);
      return { status: argv.length };
    });
    const r = await run([...shell, CALL, 'killall', 'sleep'], callsEnv({ PATH: `${fake}:${process.env.PATH}` }));
    expect(made).toEqual([['killall', 'sleep']]);
    expect(r.status).toBe(2);
  });
});

describe.each(SHELLS)('shims under %s', (_name, shell) => {
  const shim = (name: string, args: string[], env = callsEnv()) => run([...shell, join(COMPAT, 'bin', name), ...args], env);

  for (const [args, action] of [
    [[], 'shutdown'],
    [['-h', 'now'], 'shutdown'],
    [['-P', 'now'], 'shutdown'],
    [['now'], 'shutdown'],
    [['-r', 'now'], 'reboot'],
    [['now', '-r'], 'reboot'],
    [['-fr', 'now'], 'reboot'],
  ] as const) {
    it(`shutdown ${args.join(' ')} asks for ${action}`, async () => {
      const made = respond(() => ({ status: 5 }));
      const r = await shim('shutdown', [...args]);
      expect(made).toEqual([['post-action', action]]);
      expect(r.status).toBe(5);
    });
  }

  it('kexec forwards its own arguments', async () => {
    const made = respond();
    const args = ['--force', '--append=root=/dev/sda1 console=ttyS0', '--initrd=/a/boot/initrd.img', '/a/boot/vmlinuz'];
    expect((await shim('kexec', args)).status).toBe(0);
    expect(made).toEqual([['post-action', 'kexec', ...args]]);
  });

  it('killall forwards its arguments', async () => {
    const made = respond(() => ({ status: 1 }));
    expect((await shim('killall', ['-9', 'rsync'])).status).toBe(1);
    expect(made).toEqual([['killall', '-9', 'rsync']]);
  });

  it('ifconfig DEV down is a deferred link-down; anything else runs the real ifconfig, never itself', async () => {
    const made = respond();
    expect((await shim('ifconfig', ['eth0', 'down'])).status).toBe(0);
    expect(made).toEqual([['link-down', 'eth0']]);
    const fake = join(work, 'real-ifconfig');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'ifconfig'), '#!/bin/sh\nprintf "real:%s|" "$@"\n');
    chmodSync(join(fake, 'ifconfig'), 0o755);
    const env = callsEnv({ PATH: `${join(COMPAT, 'bin')}:${fake}:${process.env.PATH}` });
    for (const args of [['eth0', 'up'], ['eth0'], ['eth0', '10.0.0.2', 'down', 'x']]) {
      const r = await shim('ifconfig', args, env);
      expect(r.stdout).toBe(args.map((a) => `real:${a}|`).join(''));
    }
    expect(made).toHaveLength(1);
  });

  it('udevadm settle (libparted after each table change) and trigger succeed with no udev; anything else says so', async () => {
    const made = respond();
    expect((await shim('udevadm', ['settle'])).status).toBe(0);
    expect((await shim('udevadm', ['trigger'])).status).toBe(0);
    const other = await shim('udevadm', ['info', '/dev/sda']);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/udevadm info: the installer runs no udev/);
    expect(made).toEqual([]);
  });
});

describe('master-env.sh', () => {
  const env = join(COMPAT, 'master-env.sh');

  it('makes bash trace each command as +si <file>:<line>:, function bodies by their own file, children untraced', async () => {
    const dir = mkdtempSync(join(work, 'trace.'));
    writeFileSync(join(dir, 'lib.sh'), 'f() {\n  echo in-f\n}\n');
    writeFileSync(join(dir, 'child.sh'), 'echo child\n');
    writeFileSync(join(dir, 'm.sh'), `#!/bin/sh\n. ./lib.sh\necho a\nf\nbash ./child.sh\n`);
    const r = await run(['bash', join(dir, 'm.sh')], { PATH: process.env.PATH ?? '', BASH_ENV: env, PS4: 'ignored ' }, dir);
    const traced = r.stderr.split('\n').filter(Boolean);
    expect(traced).toContain('+si m.sh:3: echo a');
    expect(traced).toContain('+si lib.sh:2: echo in-f');
    expect(traced).toContain('+si m.sh:5: bash ./child.sh');
    expect(traced.some((l) => l.includes('child.sh:'))).toBe(false);
    expect(traced.every((l) => l.startsWith('+si '))).toBe(true);
    expect(r.stdout).toBe('a\nin-f\nchild\n');
  });

  it('is harmless when sourced by dash', async () => {
    const r = await run(['dash', '-c', '. "$1"; echo alive', 'sh', env], { PATH: process.env.PATH ?? '' });
    expect(r).toMatchObject({ status: 0, stdout: 'alive\n', stderr: '' });
  });
});

describe('compat file table', () => {
  it('installs functions as /etc/init.d/functions and the rest under /usr/lib/si-agent/compat, every source present', () => {
    expect(COMPAT_FILES.map((f) => f.to)).toEqual([
      'etc/init.d/functions',
      'usr/lib/si-agent/compat/si-agent-call',
      'usr/lib/si-agent/compat/master-env.sh',
      'usr/lib/si-agent/compat/bin/shutdown',
      'usr/lib/si-agent/compat/bin/kexec',
      'usr/lib/si-agent/compat/bin/killall',
      'usr/lib/si-agent/compat/bin/ifconfig',
      'usr/lib/si-agent/compat/bin/udevadm',
    ]);
    for (const f of COMPAT_FILES) {
      const text = readFileSync(join(COMPAT, f.from), 'utf8');
      expect(text.startsWith('#!/bin/sh\n# '), f.from).toBe(true);
      expect(text, f.from).not.toMatch(/\beval\b/);
    }
  });
});
