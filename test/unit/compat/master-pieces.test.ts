// Run mode's pure pieces: the mode choice, variables.txt in 4.3's form, the trace, the call directory's argv, killall.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, renameSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseScriptMode } from '../../../agent/compat/script-mode.js';
import { formatMasterVariables, MASTER_VARIABLES } from '../../../agent/compat/master-variables.js';
import { describeMasterFailure, MasterTrace, parseTraceLine } from '../../../agent/compat/master-trace.js';
import { serveCalls, splitCallArgv } from '../../../agent/compat/call-dir.js';
import { parseKillallArgs, parseProcStat, pickVictims } from '../../../agent/compat/master-killall.js';
import { mountsUnder } from '../../../agent/compat/report-task.js';
import type { Params } from '../../../agent/params/types.js';

const params = (o: Record<string, string>, source = 'cmdline'): Params => new Map(Object.entries(o).map(([k, v]) => [k, { value: v, source }]));

describe('SCRIPT_MODE', () => {
  it('auto runs a 4.3 master and reads anything else; run and read are what they say', () => {
    expect(chooseScriptMode(undefined, true, 'a.master')).toMatchObject({ mode: 'run' });
    expect(chooseScriptMode('auto', true, 'a.master').reason).toMatch(/a\.master sources \/etc\/init\.d\/functions/);
    expect(chooseScriptMode('auto', false, 'a.sh')).toMatchObject({ mode: 'read' });
    expect(chooseScriptMode('run', false, 'a.sh')).toMatchObject({ mode: 'run' });
    expect(chooseScriptMode('read', true, 'a.master')).toMatchObject({ mode: 'read' });
    expect(chooseScriptMode('read', true, 'a.master').reason).toMatch(/4\.3 master, read for its variables only/);
  });
});

describe('variables.txt for a master', () => {
  it("writes every 4.3 name in 4.3's order, live values over parameters, lists in double quotes", () => {
    const text = formatMasterVariables(params({ IMAGESERVER: '10.0.0.1', HOSTNAME: 'node001', GROUPNAMES: 'compute  gpu', MONITOR_SERVER: '10.0.0.1', SCRIPT_MODE: 'run' }), { IMAGESERVER: '127.0.0.1', IPADDR: '10.0.0.5' });
    const lines = text.trimEnd().split('\n');
    expect(lines.map((l) => l.split('=')[0])).toEqual([...MASTER_VARIABLES]);
    expect(lines).toContain('IMAGESERVER=127.0.0.1');
    expect(lines).toContain('IPADDR=10.0.0.5');
    expect(lines).toContain('GROUPNAMES="compute gpu"');
    expect(lines).toContain('GROUP_OVERRIDES=""');
    expect(lines).toContain('SSH_USER=');
    expect(text).not.toMatch(/SCRIPT_MODE/);
  });
  it('quotes a value with spaces or quotes for sh, and refuses a newline naming its source', () => {
    expect(formatMasterVariables(params({ HOSTNAME: "it's" }), {})).toContain(`HOSTNAME='it'\\''s'`);
    expect(() => formatMasterVariables(params({ IMAGENAME: 'a\nreboot' }, 'local.cfg:/local.cfg:3'), {})).toThrow(/local\.cfg:\/local\.cfg:3 IMAGENAME: .*control character/);
    expect(() => formatMasterVariables(params({ GROUPNAMES: 'a "b"' }), {})).toThrow(/GROUPNAMES/);
  });
});

describe("the master's trace", () => {
  it('parses +si <file>:<line>: lines at any depth and leaves other stderr alone', () => {
    expect(parseTraceLine('+si x.master:12: mke2fs -q /dev/sda1')).toEqual({ file: 'x.master', line: 12, command: 'mke2fs -q /dev/sda1' });
    expect(parseTraceLine('+++si functions:3: echo hi')).toMatchObject({ file: 'functions', line: 3 });
    expect(parseTraceLine('mke2fs: invalid blocks count')).toBeNull();
  });
  it('blames the command before shellout, not shellout or the functions it runs', () => {
    const t = new MasterTrace('x.master');
    for (const l of ['+si x.master:5: parted -s /dev/sda mklabel gpt', '+si x.master:40: mke2fs -q -t ext4 /dev/sda2', '+si x.master:40: shellout', '++si functions:20: si-agent-call shellout 1', '++si functions:21: exit 1']) t.feed(l);
    expect(t.culprit()).toEqual({ file: 'x.master', line: 40, command: 'mke2fs -q -t ext4 /dev/sda2' });
    expect(describeMasterFailure('x.master', t.culprit(), 'exit status 1, then shellout')).toBe('the autoinstall script failed at x.master:40: mke2fs -q -t ext4 /dev/sda2 (exit status 1, then shellout)');
    expect(t.traced).toBe(5);
  });
  it("names the master's last command when it exits without shellout", () => {
    const t = new MasterTrace('y.master');
    t.feed('+si y.master:3: false');
    t.feed('+si y.master:4: exit 3');
    expect(describeMasterFailure('y.master', t.culprit(), 'exit status 3')).toMatch(/y\.master:4: exit 3/);
  });
});

describe('the call directory', () => {
  it('splits NUL-terminated argv, keeping empty words', () => {
    expect(splitCallArgv(Buffer.from('monitor\0status=10:speed=0\0'))).toEqual(['monitor', 'status=10:speed=0']);
    expect(splitCallArgv(Buffer.from('a\0\0b\0'))).toEqual(['a', '', 'b']);
  });
  it('answers a call made as si-agent-call makes it: out, then status by rename', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'si-calls-'));
    const calls = join(dir, 'calls');
    const seen: string[][] = [];
    const errors: string[] = [];
    const server = serveCalls(calls, async (verb, args) => {
      seen.push([verb, ...args]);
      if (verb === 'boom') throw new Error('nope');
      return { status: 3, out: 'printed\n' };
    }, (verb, err) => errors.push(`${verb}: ${err.message}`), 10);
    try {
      const make = (name: string, words: string[]) => {
        const d = join(calls, name);
        mkdirSync(d);
        writeFileSync(join(d, 'argv.tmp'), words.map((w) => w + '\0').join(''));
        renameSync(join(d, 'argv.tmp'), join(d, 'argv'));
        return d;
      };
      const a = make('call.aaaaaa', ['bt-get', '/torrents/x y.torrent', '/a/tmp']);
      const b = make('call.bbbbbb', ['boom']);
      const wait = async (d: string) => {
        for (let i = 0; i < 200 && !existsSync(join(d, 'status')); i++) await new Promise((r) => setTimeout(r, 10));
        return readFileSync(join(d, 'status'), 'utf8').trim();
      };
      expect(await wait(a)).toBe('3');
      expect(readFileSync(join(a, 'out'), 'utf8')).toBe('printed\n');
      expect(await wait(b)).toBe('1');
      expect(seen).toContainEqual(['bt-get', '/torrents/x y.torrent', '/a/tmp']);
      expect(errors).toEqual(['boom: nope']);
      expect(server.counts.get('bt-get')).toBe(1);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('killall for a master', () => {
  it('takes the signal forms killall takes and ignores its other flags', () => {
    expect(parseKillallArgs(['sleep'])).toEqual({ signal: 'SIGTERM', names: ['sleep'] });
    expect(parseKillallArgs(['-9', 'rsync'])).toEqual({ signal: 9, names: ['rsync'] });
    expect(parseKillallArgs(['-KILL', '-q', 'rsync', 'udp-receiver'])).toEqual({ signal: 'SIGKILL', names: ['rsync', 'udp-receiver'] });
    expect(parseKillallArgs(['-s', 'HUP', 'x'])).toEqual({ signal: 'SIGHUP', names: ['x'] });
    expect(() => parseKillallArgs(['-s', 'NOPE', 'x'])).toThrow(/unknown signal NOPE/);
  });
  it("picks only the master's descendants by name, never the agent's own", () => {
    const table = [
      { pid: 1, ppid: 0, comm: 'init' },
      { pid: 10, ppid: 1, comm: 'si-agent' },
      { pid: 11, ppid: 10, comm: 'rsync' }, // the agent's own rsync
      { pid: 20, ppid: 10, comm: 'bash' }, // the master
      { pid: 21, ppid: 20, comm: 'rsync' },
      { pid: 22, ppid: 21, comm: 'rsync' },
      { pid: 23, ppid: 20, comm: 'sleep' },
      { pid: 30, ppid: 1, comm: 'sleep' },
    ];
    expect(pickVictims(table, 20, ['rsync']).sort()).toEqual([21, 22]);
    expect(pickVictims(table, 20, ['sleep'])).toEqual([23]);
    expect(pickVictims(table, 20, ['udp-receiver'])).toEqual([]);
  });
  it('reads /proc/<pid>/stat with spaces and parentheses in the name', () => {
    expect(parseProcStat('42 (a (b) c) S 7 42 42 0 -1')).toEqual({ pid: 42, ppid: 7, comm: 'a (b) c' });
    expect(parseProcStat('garbage')).toBeNull();
  });
});

describe('the report task', () => {
  it('counts the filesystems mounted at or under the target, not pseudo filesystems or neighbours', () => {
    const mounts = ['/dev/sda2 /a ext4 rw 0 0', '/dev/sda1 /a/boot ext4 rw 0 0', 'proc /a/proc proc rw 0 0', '/dev/sdb1 /ab ext4 rw 0 0', '/dev/sda3 /a/my\\040data xfs rw 0 0'].join('\n');
    expect(mountsUnder(mounts, '/a')).toEqual(['/a', '/a/boot', '/a/my data']);
  });
});
