// Unit: SSH key reading, authorized_keys parsing, fingerprints and the si_pushinstall marker command.

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprintOf, isFingerprint, parseAuthorizedKeys, readPrivateKeys } from '../../../agent/transport/ssh/keys.js';
import { MARKER_COMMAND } from '../../../agent/transport/ssh/push-server.js';
import { formatMonitorMessage } from '../../../agent/report/monitor.js';

const dir = mkdtempSync(join(tmpdir(), 'si-ssh-keys-'));
const keygen = (name: string, type: string) => execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', join(dir, name)]);
keygen('ed', 'ed25519');
keygen('ec', 'ecdsa');

describe('SSH keys', () => {
  it('fingerprints a public key blob exactly as ssh-keygen -lf prints it', () => {
    const r = parseAuthorizedKeys(readFileSync(join(dir, 'ed.pub'), 'utf8'), 'ed.pub');
    const expected = execFileSync('ssh-keygen', ['-lf', join(dir, 'ed.pub')], { encoding: 'utf8' }).split(' ')[1];
    expect(fingerprintOf(r.keys[0]!.blob)).toBe(expected);
    expect(isFingerprint(expected!)).toBe(true);
    expect(isFingerprint('SHA256:short')).toBe(false);
    expect(isFingerprint('MD5:aa:bb')).toBe(false);
  });

  it('parses authorized_keys: comments and blank lines skipped, bad lines reported with file and line', () => {
    const text = `# site keys\n\n${readFileSync(join(dir, 'ed.pub'), 'utf8')}garbage line here\n${readFileSync(join(dir, 'ec.pub'), 'utf8')}from="10.0.0.1" ${readFileSync(join(dir, 'ed.pub'), 'utf8')}`;
    const r = parseAuthorizedKeys(text, '/root/.ssh/authorized_keys');
    expect(r.keys.map((k) => [k.type, k.comment, k.source])).toEqual([
      ['ssh-ed25519', 'ed@test', '/root/.ssh/authorized_keys:3'],
      ['ecdsa-sha2-nistp256', 'ec@test', '/root/.ssh/authorized_keys:5'],
    ]);
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]).toMatch(/^\/root\/\.ssh\/authorized_keys:4: not a public key/);
    expect(r.problems[1]).toMatch(/^\/root\/\.ssh\/authorized_keys:6: .*options before the key type are not supported/);
  });

  it('reads the default private keys in order, and names a file that is not a private key', () => {
    const ssh = mkdtempSync(join(dir, 'dot-ssh-'));
    writeFileSync(join(ssh, 'id_ecdsa'), readFileSync(join(dir, 'ec')));
    writeFileSync(join(ssh, 'id_ed25519'), readFileSync(join(dir, 'ed')));
    expect(readPrivateKeys([], ssh).map((k) => [k.file.replace(ssh, ''), k.type])).toEqual([['/id_ed25519', 'ssh-ed25519'], ['/id_ecdsa', 'ecdsa-sha2-nistp256']]);
    expect(() => readPrivateKeys([join(dir, 'ed.pub')], ssh)).toThrow(/ed\.pub holds a public key, not a private one|ed\.pub is not a usable SSH private key/);
    expect(() => readPrivateKeys([join(dir, 'missing')], ssh)).toThrow(/cannot read SSH private key .*missing/);
    const empty = mkdtempSync(join(dir, 'empty-'));
    expect(() => readPrivateKeys([], empty)).toThrow(/no SSH private key: none of .*id_ed25519, .*id_ecdsa, .*id_rsa exists/);
  });

  it('recognises si_pushinstall marker command and nothing else', () => {
    expect(MARKER_COMMAND.test('sleep 100000 > /tmp/si_pushupdate.completed')).toBe(true);
    expect(MARKER_COMMAND.test('sleep 5>/tmp/si_pushupdate.completed')).toBe(true);
    expect(MARKER_COMMAND.test('sleep 100000 > /tmp/si_pushupdate.completed; rm -rf /')).toBe(false);
    expect(MARKER_COMMAND.test('echo > /tmp/si_pushupdate.completed')).toBe(false);
    expect(MARKER_COMMAND.test('sleep 1 > /tmp/other')).toBe(false);
  });

  it('monitor lines carry the transport fields after speed, colons made safe', () => {
    const info = { mac: 'aa:bb', ip: '10.0.0.5', host: 'n1', cpu: 'x', ncpus: 1, kernel: 'k', mem: 1, os: 'img', tmpfs: null, time: 3, extra: { transport: 'ssh', ssh_host_key: 'SHA256:abc+/d' } };
    expect(formatMonitorMessage(info, 50, 0, false)).toMatch(/:status=50:speed=0:transport=ssh:ssh_host_key=SHA256\.abc\+\/d$/);
  });

  it('an IPv6 pusher (SSHD) and an IPv6 client address leave every monitor field one key=value', () => {
    const extra = { transport: 'sshd', ssh_host_key: 'SHA256:abc', ssh_peer: 'SHA256:def (pusher@server) from fd42:77:9::1' };
    const info = { mac: 'aa:bb', ip: 'fd42:77:9::10', host: 'n1', cpu: 'x', ncpus: 1, kernel: 'k', mem: 1, os: 'img', tmpfs: null, time: 3, extra };
    const fields = formatMonitorMessage(info, 50, 0, false).split(':');
    expect(fields.every((f) => /^[a-z_]+=[^=]*$/.test(f))).toBe(true);
    expect(fields).toContain('ip=fd42.77.9..10');
    expect(fields).toContain('ssh_peer=SHA256.def (pusher@server) from fd42.77.9..1');
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
