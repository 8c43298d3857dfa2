// Compares two directory trees entry by entry (metadata, content, links, devices, xattrs, ACLs, sparseness); test-side only.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, type BigIntStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

interface Node {
  st: BigIntStats;
  type: string;
  link?: string;
}

function typeOf(st: BigIntStats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

function ignored(rel: string, ignore: string[]): boolean {
  return ignore.some((i) => rel === i || rel.startsWith(i.replace(/\/$/, '') + '/'));
}

async function walk(root: string, ignore: string[]): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const visit = async (rel: string): Promise<void> => {
    const full = rel === '.' ? root : path.join(root, rel);
    const st = await fsp.lstat(full, { bigint: true });
    const node: Node = { st, type: typeOf(st) };
    if (node.type === 'symlink') node.link = await fsp.readlink(full);
    out.set(rel, node);
    if (node.type !== 'dir') return;
    for (const name of (await fsp.readdir(full)).sort()) {
      const child = rel === '.' ? name : `${rel}/${name}`;
      if (!ignored(child, ignore)) await visit(child);
    }
  };
  await visit('.');
  return out;
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('error', reject).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex')));
  });
}

/** Undoes getfattr/getfacl name escaping (`\ooo` octal bytes, e.g. `\012` for a newline). */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = s[i] === '\\' ? /^[0-7]{3}/.exec(s.slice(i + 1)) : null;
    if (m) {
      bytes.push(parseInt(m[0], 8));
      i += 3;
    } else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

// ACLs are compared by getfacl; xfs also shows them as trusted.SGI_ACL_* xattrs, which are the same data.
/** Runs a getfattr/getfacl-style dumper over the tree and splits its output into path -> body text. */
function dumpPerFile(tool: string, args: string[], root: string): Promise<Map<string, string>> {
  return new Promise((resolve) => {
    execFile(tool, args, { cwd: root, maxBuffer: 256 * 1024 * 1024 }, (_err, stdout) => {
      const out = new Map<string, string>();
      for (const block of String(stdout).split(/\n(?=# file: )/)) {
        const m = /^# file: (.*)\n([\s\S]*)$/.exec(block);
        if (!m) continue;
        let rel = unescapeName(m[1]!);
        rel = rel === '.' ? '.' : rel.replace(/^\.\//, '');
        const body = m[2]!.split('\n').filter((l) => l.trim() !== '' && !/^# (owner|group|flags):/.test(l) && !/^system\.posix_acl_/.test(l) && !/^trusted\.SGI_ACL_/.test(l));
        if (body.length) out.set(rel, body.sort().join(', '));
      }
      resolve(out);
    });
  });
}

const xattrsOf = (root: string) => dumpPerFile('getfattr', ['-R', '-h', '-P', '-d', '-m', '-', '-e', 'hex', '.'], root);
const aclsOf = (root: string) => dumpPerFile('getfacl', ['-R', '-P', '-n', '-s', '.'], root);

function linkGroups(tree: Map<string, Node>): Map<string, string> {
  const byIno = new Map<string, string[]>();
  for (const [rel, n] of tree) {
    if (n.type === 'dir' || n.st.nlink < 2n) continue;
    const key = `${n.st.dev}:${n.st.ino}`;
    byIno.set(key, [...(byIno.get(key) ?? []), rel]);
  }
  const out = new Map<string, string>();
  for (const group of byIno.values()) for (const rel of group) out.set(rel, group.sort().join(' | '));
  return out;
}

const show = (rel: string) => (/[\x00-\x1f]/.test(rel) ? JSON.stringify(rel) : rel);
const oct = (n: bigint) => (n & 0o7777n).toString(8).padStart(4, '0');

/** Lists every difference between two trees; empty means identical. `ignore` takes relative paths (a directory covers its subtree). */
export async function compareTrees(expectedDir: string, actualDir: string, opts: { ignore?: string[] } = {}): Promise<string[]> {
  const ignore = opts.ignore ?? [];
  const [exp, act] = await Promise.all([walk(expectedDir, ignore), walk(actualDir, ignore)]);
  const diffs: string[] = [];
  for (const rel of act.keys()) if (!exp.has(rel)) diffs.push(`${show(rel)}: extra (${act.get(rel)!.type})`);
  const [ex, ax, ea, aa] = await Promise.all([xattrsOf(expectedDir), xattrsOf(actualDir), aclsOf(expectedDir), aclsOf(actualDir)]);
  const [eg, ag] = [linkGroups(exp), linkGroups(act)];
  for (const [rel, e] of exp) {
    const a = act.get(rel);
    const d = (what: string, ev: unknown, av: unknown) => {
      if (ev !== av) diffs.push(`${show(rel)}: ${what} ${String(ev)} != ${String(av)}`);
    };
    if (!a) {
      diffs.push(`${show(rel)}: missing (${e.type})`);
      continue;
    }
    if (e.type !== a.type) {
      diffs.push(`${show(rel)}: type ${e.type} != ${a.type}`);
      continue;
    }
    if (e.type !== 'symlink') d('mode', oct(e.st.mode), oct(a.st.mode));
    d('uid', e.st.uid, a.st.uid);
    d('gid', e.st.gid, a.st.gid);
    d('mtime', e.st.mtimeMs / 1000n, a.st.mtimeMs / 1000n);
    d('xattrs', ex.get(rel) ?? '(none)', ax.get(rel) ?? '(none)');
    d('acl', ea.get(rel) ?? '(none)', aa.get(rel) ?? '(none)');
    if (e.type === 'symlink') d('symlink target', e.link, a.link);
    if (e.type === 'char' || e.type === 'block') d('device', e.st.rdev, a.st.rdev);
    if (e.type !== 'file') continue;
    d('size', e.st.size, a.st.size);
    d('hard links', eg.get(rel) ?? '(single)', ag.get(rel) ?? '(single)');
    if (e.st.size === a.st.size && (await sha256(path.join(expectedDir, rel))) !== (await sha256(path.join(actualDir, rel)))) {
      diffs.push(`${show(rel)}: content differs`);
    }
    // A sparse file must stay sparse: allocation may differ by filesystem, but not by more than 4x + 1 MiB.
    const eAlloc = e.st.blocks * 512n;
    const aAlloc = a.st.blocks * 512n;
    if (eAlloc * 2n < e.st.size && aAlloc > eAlloc * 4n + 1048576n) {
      diffs.push(`${show(rel)}: not sparse (${aAlloc} bytes allocated, expected about ${eAlloc} of ${e.st.size})`);
    }
  }
  return diffs;
}
