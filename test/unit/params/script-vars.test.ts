import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeParams } from '../../../agent/params/merge.js';
import { readScriptVariables } from '../../../agent/params/script-vars.js';
import type { Params } from '../../../agent/params/types.js';

const dir = join(__dirname, '../../../fixtures/params/scripts/');
const known = (vals: Record<string, string>): Params => mergeParams([Object.entries(vals).map(([name, value]) => ({ name, value, source: 'cmdline' }))]);
const read = (text: string, vals: Record<string, string> = {}) => readScriptVariables(text, 't.sh', known(vals));
const pairs = (r: { assignments: { name: string; value: string }[] }) => r.assignments.map((a) => `${a.name}=${a.value}`);

describe('readScriptVariables on a 4.3 master script', () => {
  const text = readFileSync(dir + 'rhel9_base.master', 'utf8');
  const line = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

  it('takes the image, overrides, disk order and post action, with script:name:line sources', () => {
    const r = readScriptVariables(text, 'rhel9_base.master', known({ HOSTNAME: 'node01', GROUP_OVERRIDES: 'compute' }));
    expect(r.warnings).toEqual([]);
    expect(r.assignments).toEqual([
      { name: 'IMAGENAME', value: 'rhel9_base', source: `script:rhel9_base.master:${line('IMAGENAME=rhel9_base')}` },
      { name: 'OVERRIDES', value: 'rhel9_base compute node01', source: `script:rhel9_base.master:${line('OVERRIDES="${IMAGENAME}')}` },
      { name: 'DISKORDER', value: 'sd,cciss,ida,rd,hd', source: `script:rhel9_base.master:${line('echo DISKORDER=')}` },
      { name: 'DEVICE', value: 'eth0', source: `script:rhel9_base.master:${line('DEVICE=eth0')}` },
      { name: 'POST_ACTION', value: 'beep', source: `script:rhel9_base.master:${line('SI_POST_ACTION=beep')}` },
      { name: 'POST_ACTION', value: 'beep', source: `script:rhel9_base.master:${line('beep_incessantly')}` },
    ]);
  });

  it('conditional assignments leave known values alone; unconditional ones win', () => {
    const r = readScriptVariables(text, 'rhel9_base.master', known({ IMAGENAME: 'from_cluster', OVERRIDES: 'mine', DISKORDER: 'nvme', DEVICE: 'eth1', POST_ACTION: 'shell' }));
    expect(pairs(r)).toEqual(['POST_ACTION=beep', 'POST_ACTION=beep']);
  });
});

describe('readScriptVariables forms', () => {
  const rows: { name: string; script: string; known?: Record<string, string>; want: string[] }[] = [
    { name: 'plain', script: 'IMAGENAME=a', want: ['IMAGENAME=a'] },
    { name: 'double quoted', script: 'IMAGENAME="a b"', want: ['IMAGENAME=a b'] },
    { name: 'single quoted, no expansion', script: "OVERRIDES='$HOSTNAME'", known: { HOSTNAME: 'n1' }, want: ['OVERRIDES=$HOSTNAME'] },
    { name: 'export', script: 'export IMAGENAME=a', want: ['IMAGENAME=a'] },
    { name: '[ -z $X ] && X= when absent', script: '[ -z $IMAGENAME ] && IMAGENAME=a', want: ['IMAGENAME=a'] },
    { name: '[ -z "$X" ] && X= when known', script: '[ -z "$IMAGENAME" ] && IMAGENAME=a', known: { IMAGENAME: 'k' }, want: [] },
    { name: '[ -n ] || X=', script: '[ -n "${IMAGENAME}" ] || IMAGENAME=a', want: ['IMAGENAME=a'] },
    { name: 'test -z', script: 'test -z "$IMAGENAME" && IMAGENAME=a', known: { IMAGENAME: '' }, want: ['IMAGENAME=a'] },
    { name: 'if/then/else/fi block', script: 'if [ -z $IMAGENAME ]; then\n  IMAGENAME=a\nelse\n  OVERRIDES=b\nfi', known: { IMAGENAME: 'k' }, want: ['OVERRIDES=b'] },
    { name: 'one-line if', script: 'if [ -z "$DISKORDER" ]; then DISKORDER=sd,hd; fi', want: ['DISKORDER=sd,hd'] },
    { name: '${VAR} and $VAR from known and earlier assignments', script: 'BASE=img\nIMAGENAME=${BASE}_v2\nOVERRIDES="$IMAGENAME $HOSTNAME $NOPE"', known: { HOSTNAME: 'n1' }, want: ['IMAGENAME=img_v2', 'OVERRIDES=img_v2 n1 '] },
    { name: '${X:-default}', script: 'IMAGENAME=${IMAGENAME:-fallback}', want: ['IMAGENAME=fallback'] },
    { name: 'SI_POST_ACTION as POST_ACTION, conditional ignores the default', script: '[ -z $SI_POST_ACTION ] && SI_POST_ACTION=kexec', want: ['POST_ACTION=kexec'] },
    { name: 'inside a function: not taken', script: 'f() {\n  IMAGENAME=a\n}\nf', want: [] },
    { name: 'inside a loop: not taken', script: 'for x in 1 2; do\n IMAGENAME=$x\ndone', want: [] },
    { name: 'nested if: not taken', script: 'if [ -z $A ]; then\n if [ -z $B ]; then\n  IMAGENAME=a\n fi\nfi', want: [] },
    { name: 'elif: not taken', script: 'if [ -n "$A" ]; then\n IMAGENAME=a\nelif [ -z "$B" ]; then\n IMAGENAME=b\nelse\n IMAGENAME=c\nfi', want: [] },
    { name: 'env prefix of a command is not an assignment', script: 'IMAGENAME=a somecommand', want: [] },
    { name: 'backslash continuation', script: 'OVERRIDES="a \\\nb"', want: ['OVERRIDES=a b'] },
    { name: 'comments', script: '# IMAGENAME=no\nIMAGENAME=yes # IMAGENAME=no', want: ['IMAGENAME=yes'] },
    { name: 'here-document body ignored', script: 'cat > /a/x <<EOF\nIMAGENAME=no\nEOF\nIMAGENAME=yes', want: ['IMAGENAME=yes'] },
    { name: 'unknown names are not returned, but expand', script: 'MY=x\nIMAGENAME=$MY', want: ['IMAGENAME=x'] },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const out = read(r.script, r.known);
      expect(pairs(out)).toEqual(r.want);
      expect(out.assignments.every((a) => /^script:t\.sh:\d+$/.test(a.source))).toBe(true);
    });
  }
});

describe('readScriptVariables on a hostile script', () => {
  const text = readFileSync(dir + 'hostile.sh', 'utf8');
  it('runs nothing, throws nothing, takes only literal assignments and warns about the rest', () => {
    const r = readScriptVariables(text, 'hostile.sh', known({ IMAGESERVER: '10.0.0.1' }));
    expect(pairs(r)).toEqual(['MONITOR_SERVER=10.9.9.9', 'POST_ACTION=shutdown', 'SSH_USER=still_read']);
    const w = r.warnings.join('\n');
    expect(w).toMatch(/script:hostile\.sh:2 IMAGENAME: command substitution .* is never run; assignment skipped/);
    expect(w).toMatch(/script:hostile\.sh:3 OVERRIDES: command substitution/);
    expect(w).toMatch(/script:hostile\.sh:4 DISKORDER: command substitution/);
    expect(w).toMatch(/script:hostile\.sh:7 IMAGESERVER: command substitution/);
    expect(w).toMatch(/script:hostile\.sh:8 LOG_SERVER: \$IMAGESERVER has a value that was not evaluated/);
    expect(w).toMatch(/script:hostile\.sh:9 IMAGENAME: condition not understood/);
    expect(w).toMatch(/script:hostile\.sh:12: line of 200009 characters skipped/);
    expect(w).toMatch(/script:hostile\.sh:13: unterminated/);
  });
  it('is fast on pathological input', () => {
    const t0 = Date.now();
    read('X="' + '${'.repeat(20000) + '\n'.repeat(500) + 'IMAGENAME=$(' + '('.repeat(50000));
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
