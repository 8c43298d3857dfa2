import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SiError } from '../../../agent/errors.js';
import { planCloneIdentity, sshKeygenArgv } from '../../../agent/target/clone-identity.js';
import { applyFileChanges } from '../../../agent/target/file-changes.js';
import { readTargetView, memoryTargetView } from '../../../agent/target/target-view.js';
import { copyFixtureTree } from './fixture-tree.js';

let trees: Array<{ remove(): void }> = [];
afterEach(() => {
  trees.forEach((t) => t.remove());
  trees = [];
});

describe('planCloneIdentity', () => {
  it('empties machine-id, links D-Bus to it, drops host keys, leases, persistent-net rules and the random seed', () => {
    const t = copyFixtureTree('debian-ifupdown');
    trees.push(t);
    applyFileChanges(t.root, planCloneIdentity(readTargetView(t.root)));
    expect(t.read('etc/machine-id')).toBe('');
    expect(t.isLink('var/lib/dbus/machine-id')).toBe(true);
    expect(t.exists('etc/ssh/ssh_host_ed25519_key')).toBe(false);
    expect(t.exists('etc/ssh/ssh_host_ed25519_key.pub')).toBe(false);
    expect(t.exists('etc/ssh/sshd_config')).toBe(true);
    expect(t.exists('var/lib/dhcp/dhclient.eth0.leases')).toBe(false);
    expect(t.exists('etc/udev/rules.d/70-persistent-net.rules')).toBe(false);
    expect(t.exists('var/lib/systemd/random-seed')).toBe(false);
    // Done twice, nothing more to do but the (idempotent) machine-id write.
    expect(planCloneIdentity(readTargetView(t.root)).map((c) => c.path)).toEqual(['/etc/machine-id']);
  });

  it('removes RHEL and NetworkManager leases', () => {
    const t = copyFixtureTree('rhel-ifcfg');
    trees.push(t);
    expect(planCloneIdentity(readTargetView(t.root)).map((c) => c.path)).toEqual(['/var/lib/dhclient/dhclient--eth0.lease', '/var/lib/NetworkManager/internal-uuid-eth0.lease']);
  });

  it('runs ssh-keygen -A only when the image has it', () => {
    expect(sshKeygenArgv(memoryTargetView({ '/usr/bin/ssh-keygen': '' }))).toEqual(['/usr/bin/ssh-keygen', '-A']);
    expect(sshKeygenArgv(memoryTargetView({}))).toBeUndefined();
  });
});

describe('applyFileChanges', () => {
  it('replaces a symlink instead of writing through it, and refuses directories that lead out of the target', () => {
    const t = copyFixtureTree('networkd');
    trees.push(t);
    applyFileChanges(t.root, [{ kind: 'write', path: '/etc/resolv.conf', content: 'nameserver 1.1.1.1\n' }]);
    expect(t.isLink('etc/resolv.conf')).toBe(false);
    mkdirSync(join(t.root, 'var'), { recursive: true });
    symlinkSync('/tmp', join(t.root, 'var/escape'));
    expect(() => applyFileChanges(t.root, [{ kind: 'write', path: '/var/escape/owned', content: 'x' }])).toThrow(SiError);
  });
});
