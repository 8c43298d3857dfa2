// Pure parts of the transport on captured rsync text, and withRetry's backoff (no root needed; kept beside the system tests it serves).

import { describe, expect, it } from 'vitest';
import { CommandError, SiError } from '../../agent/errors.js';
import { computeBackoff, withRetry } from '../../agent/net/retry.js';
import { Reporter, type Stamped } from '../../agent/report/events.js';
import { isMissingSource, isRetryableRsyncError, isXattrRefusal, unknownModuleOf } from '../../agent/transport/rsync/errors.js';
import { parseModuleList } from '../../agent/transport/rsync/modules.js';
import { createProgressTracker, parseProgress2Line, parseRsyncStats, type RsyncProgress } from '../../agent/transport/rsync/progress.js';
import { checkModulePath, isSafeName, rsyncUrl } from '../../agent/transport/rsync/url.js';

const rsyncErr = (code: number, stderr: string) => new CommandError(['rsync', 'x'], code, null, '', stderr);

describe('progress2 parsing', () => {
  it('reads updates in every unit and marks file ends', () => {
    expect(parseProgress2Line('      1,982,256   2%    3.55MB/s    0:00:00 (xfr#1, to-chk=56/60)')).toEqual({ bytesDone: 1982256, percent: 2, speedKBs: 3.55 * 1024, timeS: 0, fileDone: true });
    expect(parseProgress2Line('     32,768   0%    0.00kB/s    0:00:00  ')).toMatchObject({ bytesDone: 32768, percent: 0, speedKBs: 0, fileDone: false });
    expect(parseProgress2Line('  1,000,000,000  45%    1.50GB/s    1:02:03')).toMatchObject({ speedKBs: 1.5 * 1024 * 1024, timeS: 3723 });
    expect(parseProgress2Line('Number of files: 60 (reg: 30, dir: 20)')).toBeNull();
  });

  it('reads from the end never go backwards, and the end is 100% with the --stats totals', () => {
    const seen: RsyncProgress[] = [];
    let t = 0;
    const tr = createProgressTracker((p) => seen.push(p), 500, () => (t += 1000));
    tr.feedTail('\r     10,000  10%  100.00kB/s    0:00:01', false);
    tr.feedTail('\r     50,000  50%  100.00kB/s    0:00:01 (xfr#1, to-chk=1/2)', false);
    tr.feedTail('\r     40,000  40%  1.00kB/s 0:00:00\n', false);
    tr.feedTail('\nNumber of files: 3\nTotal file size: 100,000 bytes\nTotal transferred file size: 100,000 bytes\n', true);
    expect(tr.finish()).toBe(100000);
    expect(seen.map((p) => p.percent)).toEqual([10, 50, 50, 100]);
    expect(seen[0]).toMatchObject({ bytesDone: 10000, bytesTotal: 100000, etaS: 1 });
    expect(seen.at(-1)).toMatchObject({ bytesDone: 100000, bytesTotal: 100000, percent: 100, etaS: 0 });
  });

  it('with a known total, counts the percent against it (at most 99 until the end), not rsync\'s own', () => {
    const seen: RsyncProgress[] = [];
    let t = 0;
    const tr = createProgressTracker((p) => seen.push(p), 500, () => (t += 1000), 200_000);
    // Incremental recursion: rsync's percent is of the files listed so far (90% here while a quarter is done).
    tr.feedTail('\r     50,000  90%  100.00kB/s    0:00:01\r', false);
    tr.feedTail('    200,000 100%  100.00kB/s    0:00:01\n', false);
    expect(seen.map((p) => [p.percent, p.bytesTotal])).toEqual([[25, 200_000], [99, 200_000]]);
    tr.feedTail('Total file size: 200,000 bytes\nTotal transferred file size: 200,000 bytes\n', true);
    expect(tr.finish()).toBe(200_000);
    expect(seen.at(-1)).toMatchObject({ percent: 100, bytesDone: 200_000, bytesTotal: 200_000 });
  });

  it('of the updates in one read only the last counts (they are cumulative), past lines that are not updates', () => {
    const seen: RsyncProgress[] = [];
    let t = 0;
    const tr = createProgressTracker((p) => seen.push(p), 500, () => (t += 1000));
    tr.feedTail('\r  1,000  10%  1.00kB/s    0:00:09\r  5,000  50%  1.00kB/s    0:00:05 (xfr#1, to-chk=1/2)\nsome/file\n', false);
    expect(seen.map((p) => [p.bytesDone, p.percent])).toEqual([[5_000, 50]]);
    tr.feedTail('  7,000  70%  1.00kB/s    0:00:03\r', false);
    expect(seen.map((p) => [p.bytesDone, p.percent])).toEqual([[5_000, 50], [7_000, 70]]);
  });

  it('feedTail: the newest update of a read from the end counts even without its line end; the final read gives --stats', () => {
    const seen: RsyncProgress[] = [];
    let t = 0;
    const tr = createProgressTracker((p) => seen.push(p), 500, () => (t += 1000));
    // A read from the middle of the output: a cut line first, the newest update last and not yet ended.
    tr.feedTail('00  10%  1.00kB/s    0:00:09\r  5,000  50%  1.00kB/s    0:00:05 (xfr#1, to-chk=1/2)\r  6,000  60%  1.00kB/s    0:00:04', false);
    expect(seen.map((p) => [p.bytesDone, p.percent])).toEqual([[6_000, 60]]);
    // The next read is not glued to the last one's end.
    tr.feedTail('0  70%  1.00kB/s    0:00:03\r  8,000  80%  1.00kB/s    0:00:02\r  9,0', false);
    expect(seen.map((p) => [p.bytesDone, p.percent])).toEqual([[6_000, 60], [8_000, 80]]);
    tr.feedTail('  10,000 100%  1.00kB/s    0:00:10 (xfr#2, to-chk=0/2)\n\nTotal file size: 10,000 bytes\nTotal transferred file size: 9,000 bytes\n', true);
    expect(tr.finish()).toBe(9_000);
    expect(seen.at(-1)).toMatchObject({ percent: 100, bytesDone: 10_000, bytesTotal: 10_000 });
  });

  it('reads --stats totals', () => {
    expect(parseRsyncStats('Total file size: 74,644,099 bytes\nTotal transferred file size: 38 bytes\n')).toEqual({ totalFileSize: 74644099, transferredSize: 38 });
  });
});

describe('rsync messages', () => {
  it('lists modules from the daemon listing, skipping motd lines', () => {
    expect(parseModuleList('Welcome to the image server\nscripts        \tautoinstall scripts\nmy_image       \t\nboot\t\n')).toEqual(['scripts', 'my_image', 'boot']);
  });

  it('retries connection failures but not permanent daemon refusals', () => {
    expect(isRetryableRsyncError(rsyncErr(10, 'rsync: failed to connect to 10.0.0.1: Connection refused (111)'))).toBe(true);
    expect(isRetryableRsyncError(rsyncErr(5, '@ERROR: max connections (4) reached -- try again later'))).toBe(true);
    expect(isRetryableRsyncError(rsyncErr(5, "@ERROR: Unknown module 'x'"))).toBe(false);
    expect(isRetryableRsyncError(rsyncErr(23, 'some files'))).toBe(false);
    expect(isRetryableRsyncError(new Error('x'))).toBe(false);
    expect(unknownModuleOf("@ERROR: Unknown module 'nope'\nrsync error: ...")).toBe('nope');
  });

  it('tells a missing override from a real failure', () => {
    const missing = 'rsync: [sender] change_dir "/web" (in overrides) failed: No such file or directory (2)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1956) [Receiver=3.5.0]\n';
    expect(isMissingSource(rsyncErr(23, missing), 'overrides', 'web')).toBe(true);
    expect(isMissingSource(rsyncErr(23, missing), 'overrides', 'we')).toBe(false);
    expect(isMissingSource(rsyncErr(23, missing + 'rsync: [receiver] mkstemp "/a/etc/.x" failed: Operation not permitted (1)\n'), 'overrides', 'web')).toBe(false);
    expect(isMissingSource(rsyncErr(23, 'rsync: [sender] send_files failed to open "/etc/x" (in overrides): Permission denied (13)\n'), 'overrides', 'web')).toBe(false);
    expect(isMissingSource(rsyncErr(12, missing), 'overrides', 'web')).toBe(false);
  });

  it('recognises a refusal of xattrs/ACLs only when nothing else failed', () => {
    const refusal = 'rsync: [receiver] set_acl: xacl_set(.a.Ve7XRR, ACL_TYPE_ACCESS): Operation not supported (95)\nrsync: [receiver] rsync_xal_set: fsetxattr("/x","user.a") failed: Operation not supported (95)\nrsync error: some files/attrs were not transferred (code 23)\n';
    expect(isXattrRefusal(rsyncErr(23, refusal))).toBe(true);
    expect(isXattrRefusal(rsyncErr(23, refusal + 'rsync: [receiver] write failed on "/x": No space left on device (28)\n'))).toBe(false);
  });
});

describe('rsync URLs', () => {
  it('accepts safe names and refuses the rest', () => {
    for (const ok of ['fixture-image', 'global_ovr', 'rhel9.3', 'c++', 'imaging_complete_10.0.0.1']) expect(isSafeName(ok)).toBe(true);
    for (const bad of ['', '.', '..', '.hidden', '-rf', 'a/b', 'a..b', 'a b', 'a\nb', 'x:y', 'ü']) expect(isSafeName(bad)).toBe(false);
    expect(rsyncUrl('10.0.0.1', 8730, 'scripts/')).toBe('rsync://10.0.0.1:8730/scripts/');
    expect(rsyncUrl('::1', undefined)).toBe('rsync://[::1]:873/');
    expect(checkModulePath('img/etc/systemimager/autoinstallscript.conf')).toBe('img/etc/systemimager/autoinstallscript.conf');
    expect(() => checkModulePath('img/../etc/')).toThrow(/refusing/);
    expect(() => rsyncUrl('host;rm -rf /', 873)).toThrow(/not a host name/);
    expect(() => rsyncUrl('h', 70000)).toThrow(/not a port/);
  });
});

describe('withRetry', () => {
  const collect = () => {
    const r = new Reporter();
    const events: Stamped[] = [];
    r.addSink((e) => events.push(e));
    return { r, events };
  };

  it('backs off exponentially with jitter up to the cap', () => {
    expect(computeBackoff(1, 200, 5000, () => 0)).toBe(100);
    expect(computeBackoff(1, 200, 5000, () => 0.999)).toBe(200);
    expect(computeBackoff(3, 200, 5000, () => 1)).toBe(800);
    expect(computeBackoff(10, 200, 5000, () => 1)).toBe(5000);
  });

  it('retries until success, reporting each retry', async () => {
    const { r, events } = collect();
    const got = await withRetry(async (n) => (n < 3 ? Promise.reject(new Error(`boom ${n}`)) : 'ok'), { what: 'thing', baseMs: 1, report: r });
    expect(got).toBe('ok');
    expect(events.map((e) => (e.type === 'retry' ? `${e.attempt}:${e.error}` : e.type))).toEqual(['1:boom 1', '2:boom 2']);
  });

  it('gives up after the attempts, saying how many over how long', async () => {
    const err = await withRetry(() => Promise.reject(new SiError('E_TRANSFER', 'no route')), { what: 'fetch x', attempts: 3, baseMs: 1 }).catch((e: unknown) => e);
    expect((err as SiError).code).toBe('E_TRANSFER');
    expect((err as Error).message).toMatch(/^fetch x failed after 3 attempts over \d+\.\d s: no route$/);
  });

  it('stops at the deadline, rethrows what retryIf refuses, and stops on abort', async () => {
    const started = Date.now();
    await expect(withRetry(() => Promise.reject(new Error('down')), { what: 'w', baseMs: 40, capMs: 40, deadlineMs: 300 })).rejects.toThrow(/deadline reached/);
    expect(Date.now() - started).toBeLessThan(1000);
    const fatal = new Error('fatal');
    let calls = 0;
    await expect(withRetry(() => (calls++, Promise.reject(fatal)), { what: 'w', retryIf: () => false })).rejects.toBe(fatal);
    expect(calls).toBe(1);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stopped')), 50);
    await expect(withRetry(() => Promise.reject(new Error('down')), { what: 'w', baseMs: 10_000, signal: ac.signal })).rejects.toThrow('stopped');
  });
});
