import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeParams } from '../../../agent/params/merge.js';
import { applyCheckedLayer } from '../../../agent/params/resolve.js';
import { readScriptVariables } from '../../../agent/params/script-vars.js';
import { formatIgnoredCommands, postActionOf } from '../../../agent/params/script-commands.js';
import { lexShellLine } from '../../../agent/params/shell-lex.js';
import type { Assignment, Params } from '../../../agent/params/types.js';
import { buildPlanObject, formatPlanText } from '../../../agent/plan-output.js';
import type { Ctx } from '../../../agent/steps/context.js';

const dir = join(__dirname, '../../../fixtures/params/scripts/');
const cmdline = (vals: Record<string, string>): Assignment[] => Object.entries(vals).map(([name, value]) => ({ name, value, source: 'cmdline' }));
const known = (vals: Record<string, string>): Params => mergeParams([cmdline(vals)]);
const pairs = (r: { assignments: Assignment[] }) => r.assignments.map((a) => `${a.name}=${a.value}`);

/** Reads a sample master and merges its variables over the given command line, as the choose-script step does. */
function readMaster(file: string, given: Record<string, string> = {}) {
  const text = readFileSync(dir + file, 'utf8');
  const lineOf = (re: RegExp) => text.split('\n').findIndex((l) => re.test(l)) + 1;
  const params0 = known(given);
  const r = readScriptVariables(text, file, params0);
  const merged = applyCheckedLayer(params0, r.assignments);
  return { text, lineOf, r, params: merged.params, problems: merged.problems };
}

describe('read mode on 4.3 masters: the post-install action of the final block', () => {
  const rows = [
    { file: 'compat-reboot.master', action: 'reboot', line: /^shutdown -r now$/, ip: 'dhcp' },
    { file: 'compat-shutdown.master', action: 'shutdown', line: /^shutdown$/, ip: 'static' },
    { file: 'compat-beep.master', action: 'beep', line: /^beep_incessantly$/, ip: 'dhcp' },
    { file: 'compat-kexec.master', action: 'kexec', line: /^kexec --force /, ip: 'replicant' },
  ];
  for (const row of rows) {
    it(`${row.file}: POST_ACTION ${row.action} and IP_ASSIGNMENT_METHOD ${row.ip}, each with script:name:line`, () => {
      const { r, params, problems, lineOf } = readMaster(row.file);
      expect(problems).toEqual([]);
      expect(r.warnings).toEqual([]);
      expect(r.master).toBe(true);
      expect(params.get('POST_ACTION')).toEqual({ value: row.action, source: `script:${row.file}:${lineOf(row.line)}` });
      expect(params.get('IP_ASSIGNMENT')).toEqual({ value: row.ip, source: `script:${row.file}:${lineOf(/^echo "IP_ASSIGNMENT_METHOD=/)}` });
      // `beep 3` before the action and `kexec` inside strings or comments are not the action.
      expect(r.assignments.filter((a) => a.name === 'POST_ACTION')).toHaveLength(1);
    });
  }

  it('the final block takes script precedence: it replaces a POST_ACTION from the command line, with a warning naming both', () => {
    const { r, params, lineOf } = readMaster('compat-shutdown.master', { POST_ACTION: 'reboot' });
    expect(params.get('POST_ACTION')).toEqual({ value: 'shutdown', source: `script:compat-shutdown.master:${lineOf(/^shutdown$/)}` });
    expect(r.warnings).toEqual([`script:compat-shutdown.master:${lineOf(/^shutdown$/)} POST_ACTION: "shutdown" replaces "reboot" from cmdline`]);
  });

  it('the default POST_ACTION (reboot) is replaced silently', () => {
    const { r, params } = readMaster('compat-beep.master', {});
    expect(params.get('POST_ACTION')?.value).toBe('beep');
    expect(r.warnings).toEqual([]);
  });

  it('an action under a condition it cannot decide is not taken, with a warning', () => {
    const r = readScriptVariables('if [ -n "$UNKNOWN_FLAG" ]; then\n  shutdown\nfi\n[ "$X" = y ] | reboot\n', 'c.master', known({}));
    expect(pairs(r)).toEqual([]);
    expect(r.warnings).toEqual([
      'script:c.master:2 POST_ACTION: "shutdown" under a condition not understood; not taken',
      'script:c.master:4 POST_ACTION: "reboot" under a condition not understood; not taken',
    ]);
  });

  it('a branch it can decide is taken; a command that surely does not run is not', () => {
    const r = readScriptVariables('if [ -z "$MONITOR_SERVER" ]; then\n  /sbin/poweroff\nelse\n  reboot\nfi\n[ -n "" ] && kexec -e\n', 'c.sh', known({}));
    expect(pairs(r)).toEqual(['POST_ACTION=shutdown']);
    expect(r.master).toBe(false);
  });
});

describe('postActionOf', () => {
  const rows: [string, string | undefined][] = [
    ['shutdown -r now', 'reboot'], ['shutdown -rf now', 'reboot'], ['shutdown --reboot', 'reboot'], ['reboot -f', 'reboot'], ['init 6', 'reboot'],
    ['shutdown', 'shutdown'], ['shutdown -h now', 'shutdown'], ['shutdown -P now', 'shutdown'], ['poweroff', 'shutdown'], ['halt', 'shutdown'], ['init 0', 'shutdown'], ['exec /sbin/shutdown', 'shutdown'],
    ['beep_incessantly', 'beep'],
    ['kexec --force --append="ro" --initrd=/tmp/i /tmp/k', 'kexec'], ['kexec -e', 'kexec'], ['kexec /boot/vmlinuz', 'kexec'],
    ['kexec -l /boot/vmlinuz --initrd=/boot/i', undefined], ['kexec -u', undefined], ['shutdown -c', undefined],
    ['beep 3', undefined], ['beep', undefined], ['init 3', undefined], ['echo reboot', undefined], ['logmsg shutdown', undefined],
  ];
  for (const [line, want] of rows) it(`${line} -> ${want ?? '(none)'}`, () => expect(postActionOf(lexShellLine(line).commands[0]!.words)).toBe(want));
});

describe('read mode: IP_ASSIGNMENT_METHOD appended to variables.txt', () => {
  const rows: { script: string; known?: Record<string, string>; want: string[] }[] = [
    { script: 'echo "IP_ASSIGNMENT_METHOD=static" >> /tmp/variables.txt', want: ['IP_ASSIGNMENT=static'] },
    { script: 'echo IP_ASSIGNMENT_METHOD=dhcp >> /tmp/variables.txt', want: ['IP_ASSIGNMENT=dhcp'] },
    { script: 'M=replicant\necho "IP_ASSIGNMENT_METHOD=$M" >>/tmp/variables.txt', want: ['IP_ASSIGNMENT=replicant'] },
    { script: 'echo "IP_ASSIGNMENT_METHOD=static" >> /tmp/other.txt', want: [] },
    { script: 'echo "IP_ASSIGNMENT_METHOD=static"', want: [] },
    { script: 'if [ -n "$NOPE" ]; then\n echo IP_ASSIGNMENT_METHOD=static >> /tmp/variables.txt\nfi', want: [] },
    { script: 'echo "IP_ASSIGNMENT_METHOD=" >> /tmp/variables.txt', known: { IP_ASSIGNMENT: 'dhcp' }, want: [] },
  ];
  for (const row of rows) {
    it(row.script.replace(/\n/g, '; '), () => {
      const r = readScriptVariables(row.script, 't.master', known(row.known ?? {}));
      expect(pairs(r)).toEqual(row.want);
      expect(r.assignments.every((a) => a.source === `script:t.master:${row.script.split('\n').length === 1 ? 1 : 2}`)).toBe(true);
    });
  }
  it('a value from a command substitution is not taken, with a warning', () => {
    const r = readScriptVariables('echo "IP_ASSIGNMENT_METHOD=$(cat /x)" >> /tmp/variables.txt', 't.master', known({}));
    expect(pairs(r)).toEqual([]);
    expect(r.warnings.join('\n')).toMatch(/script:t\.master:1 IP_ASSIGNMENT_METHOD: command substitution .* never run; assignment skipped/);
  });
});

describe('read mode: an empty assignment never replaces a value from another source', () => {
  it('the master\'s DISKORDER= leaves DISKORDER from the command line', () => {
    const { params, r } = readMaster('compat-reboot.master', { DISKORDER: 'nvme,sd' });
    expect(params.get('DISKORDER')).toEqual({ value: 'nvme,sd', source: 'cmdline' });
    expect(r.assignments.some((a) => a.name === 'DISKORDER')).toBe(false);
  });

  it('nor from local.cfg or cluster.txt, and later lines still see the kept value', () => {
    const params0 = mergeParams([[{ name: 'DISKORDER', value: 'vd', source: 'local.cfg:/local.cfg:3' }, { name: 'IMAGENAME', value: 'img', source: 'scripts/cluster.txt' }]]);
    const r = readScriptVariables('DISKORDER=\nIMAGENAME=""\n[ -z "$DISKORDER" ] && OVERRIDES=none\nOVERRIDES="$IMAGENAME $DISKORDER"\n', 't.sh', params0);
    expect(pairs(r)).toEqual(['OVERRIDES=img vd']);
  });

  it('with no other source the empty value is taken (as before), and a value the script set itself is emptied', () => {
    expect(pairs(readScriptVariables('DISKORDER=', 't.sh', known({})))).toEqual(['DISKORDER=']);
    expect(pairs(readScriptVariables('DISKORDER=sd\nDISKORDER=', 't.sh', known({ DISKORDER: 'nvme' })))).toEqual(['DISKORDER=sd', 'DISKORDER=']);
  });

  it('a non-empty assignment still replaces, with a warning naming the source it replaces', () => {
    const r = readScriptVariables('DISKORDER=hd', 't.sh', known({ DISKORDER: 'nvme' }));
    expect(pairs(r)).toEqual(['DISKORDER=hd']);
    expect(r.warnings).toEqual(['script:t.sh:1 DISKORDER: "hd" replaces "nvme" from cmdline']);
  });
});

describe('read mode: the warning about a master\'s commands', () => {
  it('names the script, the count and the first lines with their numbers; the assignments read are not among them', () => {
    const { r, text } = readMaster('compat-shutdown.master', { HOSTNAME: 'node01' });
    const lines = text.split('\n');
    const lineNo = (l: number) => lines[l - 1]!.trim();
    // Every listed line is the script's own text at that number, and none is an assignment it read.
    for (const c of r.commands) expect(lineNo(c.line)).toBe(c.text);
    const texts = r.commands.map((c) => c.text);
    expect(texts).toContain('parted -s -- $DISK0 mklabel gpt || shellout');
    expect(texts).toContain('mke2fs -q -t ext4 /dev/sda3 || shellout');
    expect(texts.find((t) => t.includes('--bwlimit=40000'))).toBeDefined();
    expect(texts).toContain('echo "compat-shutdown hand-edited" > /a/root/installed-by-master');
    expect(texts).toContain('sleep 60');
    for (const t of texts) expect(t).not.toMatch(/^(\[ -z \$?"?IMAGENAME|DISKORDER=|echo "IP_ASSIGNMENT_METHOD|shutdown$|\. \/|get_arch$|logmsg |fi$|done$|if \[)/);
    const w = formatIgnoredCommands('compat-shutdown.master', r.commands);
    const wl = w.split('\n');
    expect(wl[0]).toBe(`script compat-shutdown.master is a SystemImager 4.3 master (it sources /etc/init.d/functions); read mode takes only its variables and post-install action: ${r.commands.length} command lines of it will not run, hand edits included; the install follows the layout file`);
    expect(wl.slice(1, 6)).toEqual(r.commands.slice(0, 5).map((c) => `  script:compat-shutdown.master:${c.line}: ${c.text}`));
    expect(wl[6]).toBe(`  ... and ${r.commands.length - 5} more`);
    expect(wl).toHaveLength(7);
  });

  it('short lists are shown whole, long lines cut', () => {
    const w = formatIgnoredCommands('x.master', [{ line: 9, text: 'mkfs ' + 'a'.repeat(200) }]);
    expect(w).toMatch(/: 1 command line of it will not run/);
    expect(w.split('\n')[1]).toBe(`  script:x.master:9: mkfs ${'a'.repeat(112)}...`);
  });

  it('a script that does not source the functions file is not a master', () => {
    const r = readScriptVariables('. /tmp/variables.txt\nIMAGENAME=a\nparted -s /dev/sda mklabel gpt\n', 'n.sh', known({}));
    expect(r.master).toBe(false);
    expect(r.commands).toEqual([{ line: 3, text: 'parted -s /dev/sda mklabel gpt' }]);
  });
});

describe('plan shows the values the master gave, with their sources', () => {
  it('parameters and postAction carry script:name:line', () => {
    const { params, lineOf } = readMaster('compat-kexec.master', { DISKORDER: 'sd' });
    const ctx = { params, state: { groups: [], overrides: [], scriptName: 'compat-kexec' } } as unknown as Ctx;
    const obj = buildPlanObject(ctx);
    const src = `script:compat-kexec.master:${lineOf(/^kexec --force/)}`;
    expect((obj.parameters as Record<string, unknown>).POST_ACTION).toEqual({ value: 'kexec', source: src });
    expect((obj.parameters as Record<string, unknown>).IP_ASSIGNMENT).toEqual({ value: 'replicant', source: `script:compat-kexec.master:${lineOf(/IP_ASSIGNMENT_METHOD=/)}` });
    expect((obj.parameters as Record<string, unknown>).DISKORDER).toEqual({ value: 'sd', source: 'cmdline' });
    expect(obj.plan).toMatchObject({ postAction: 'kexec', postActionSource: src });
    expect(formatPlanText(obj)).toContain(`  postAction: kexec (${src})\n`);
  });
});
