// What the extractor's writer runs: records read in order from a shared ring, each applied with plain synchronous system
// calls (as GNU tar does), in a worker thread or, for a small archive, on the main thread. Self-contained JavaScript
// (node: built-ins only) so it runs from a string, in the bundle and the single executable alike.

/** Bytes of a record's fixed header; a record is its header, path, entry name, link target, then data, 8-aligned. */
export const HEAD = 80;

/**
 * Record kinds. `raw`: bytes of the stream as received (the parser reads them in the ring, file records point into them;
 * the writer only steps over them); `file`: a whole file, its data a list of (offset, length) pairs of u32 pointing into
 * earlier raw records; `data`: one piece of a large file (header fields ref and refLen).
 */
export const K = { wrap: 0, file: 1, open: 2, data: 3, close: 4, dir: 5, symlink: 6, link: 7, dirMeta: 8, raw: 9 } as const;

/** Record flags: chown (lchown for links and directories), chmod after chown, truncate to the size (sparse). */
export const F = { chown: 1, chmod: 2, truncate: 4 } as const;

/**
 * Int32 slots of the control array: records committed (main), records applied (writer), stop asked, writer failed, writer
 * asleep (waiting for records: only then does a commit need a notify), main waiting (only then does the writer notify,
 * and only once it has applied wantApplied records and freed the ring up to the second double of the free array).
 */
export const C = { committed: 0, applied: 1, stop: 2, failed: 3, asleep: 4, waiting: 5, wantApplied: 6 } as const;

// Header layout (little endian): 0 u32 length, 4 u8 kind, 5 u8 flags, 8 u32 mode, 12 u32 uid, 16 u32 gid, 20 u32 path
// bytes, 24 f64 atime, 32 f64 mtime, 40 f64 position or size, 48 u32 name bytes, 52 u32 link bytes, 56 u32 data bytes,
// 64 f64 keep (absolute ring position: once this record is applied, everything before it may be reused), 72 u32 ref,
// 76 u32 ref length. A record of length 0 (or fewer than HEAD bytes left before the end) sends the reader back to the
// ring's start.

/**
 * The body of `function (fs, ring, size, state)`: returns `{ next, close }`; next() applies the record at
 * state.pos (absolute) and advances it, and sets state.free (what may be reused); close() closes a file left open.
 * Errors carry `entry` (the archive name).
 */
export const APPLY_BODY = `
const C = fs.constants;
const CREATE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
let fd = -1;
let fdName = '';
function clear(p) {
  try { fs.unlinkSync(p); } catch (e) {
    if (e.code === 'ENOENT') return;
    if (e.code !== 'EISDIR' && e.code !== 'EPERM') throw e;
    try { fs.rmdirSync(p); } catch (e2) {
      if (e2.code === 'ENOTEMPTY') throw new Error('a non-empty directory is in the way');
      throw e2;
    }
  }
}
function create(make, p) {
  try { return make(); } catch (e) { if (e.code !== 'EEXIST') throw e; clear(p); return make(); }
}
function writeAll(f, off, len, at) {
  let done = 0;
  while (done < len) done += fs.writeSync(f, ring, off + done, len - done, at === null ? null : at + done);
}
function writeAll2(f, b, at) {
  let done = 0;
  while (done < b.length) done += fs.writeSync(f, b, done, b.length - done, at + done);
}
function meta(f, flags, mode, uid, gid, atime, mtime) {
  if (flags & 1) fs.fchownSync(f, uid, gid);
  // chown clears setuid/setgid and umask trims the creation mode: the mode is set last when either applies.
  if (flags & 2) fs.fchmodSync(f, mode);
  fs.futimesSync(f, atime, mtime);
}
function apply(pos) {
  const kind = ring[pos + 4], flags = ring[pos + 5];
  const mode = ring.readUInt32LE(pos + 8), uid = ring.readUInt32LE(pos + 12), gid = ring.readUInt32LE(pos + 16);
  const pl = ring.readUInt32LE(pos + 20), nl = ring.readUInt32LE(pos + 48), ll = ring.readUInt32LE(pos + 52), dl = ring.readUInt32LE(pos + 56);
  const atime = ring.readDoubleLE(pos + 24), mtime = ring.readDoubleLE(pos + 32), num = ring.readDoubleLE(pos + 40);
  const p0 = pos + ${HEAD}, n0 = p0 + pl, l0 = n0 + nl, d0 = l0 + ll;
  const path = ring.subarray(p0, n0);
  state.entry = n0;
  state.nameLen = nl;
  if (kind === 9) {
    // The stream's bytes: parsed by the main thread, written from where they lie by the records that follow.
  } else if (kind === 1) {
    const f = create(() => fs.openSync(path, CREATE, mode), path);
    try {
      if (dl === 8) writeAll(f, ring.readUInt32LE(d0), ring.readUInt32LE(d0 + 4), null);
      else if (dl > 0) {
        const views = [];
        for (let i = d0; i < d0 + dl; i += 8) views.push(ring.subarray(ring.readUInt32LE(i), ring.readUInt32LE(i) + ring.readUInt32LE(i + 4)));
        const done = fs.writevSync(f, views, 0);
        if (done < num) {
          // A short write (not seen on a local filesystem) goes on piece by piece.
          let at = 0;
          for (const v of views) {
            if (at + v.length > done) writeAll2(f, v.subarray(Math.max(0, done - at)), Math.max(done, at));
            at += v.length;
          }
        }
      }
      meta(f, flags, mode, uid, gid, atime, mtime);
    } finally { fs.closeSync(f); }
  } else if (kind === 2) {
    fdName = ring.toString('utf8', n0, n0 + nl);
    fd = create(() => fs.openSync(path, CREATE, mode), path);
  } else if (kind === 3) {
    state.name = fdName;
    writeAll(fd, ring.readUInt32LE(pos + 72), ring.readUInt32LE(pos + 76), num);
  } else if (kind === 4) {
    state.name = fdName;
    const f = fd;
    fd = -1;
    try {
      if (flags & 4) fs.ftruncateSync(f, num);
      meta(f, flags, mode, uid, gid, atime, mtime);
    } finally { fs.closeSync(f); }
  } else if (kind === 5) {
    try { fs.mkdirSync(path, mode); } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      // A symlink or file where the archive has a directory is replaced, as GNU tar and rsync do.
      if (!fs.lstatSync(path).isDirectory()) { clear(path); fs.mkdirSync(path, mode); }
    }
  } else if (kind === 6) {
    const target = ring.subarray(l0, l0 + ll);
    create(() => fs.symlinkSync(target, path), path);
    if (flags & 1) fs.lchownSync(path, uid, gid);
    fs.lutimesSync(path, atime, mtime);
  } else if (kind === 7) {
    const target = ring.subarray(l0, l0 + ll);
    try { create(() => fs.linkSync(target, path), path); } catch (e) {
      throw new Error('hard link to ' + JSON.stringify(ring.toString('utf8', d0, d0 + dl)) + ' failed: ' + e.message);
    }
  } else if (kind === 8) {
    if (flags & 1) fs.lchownSync(path, uid, gid);
    fs.chmodSync(path, mode);
    fs.utimesSync(path, atime, mtime);
  } else throw new Error('internal: record kind ' + kind);
}
return {
  next() {
    let pos = state.pos % size;
    if (size - pos < ${HEAD} || ring.readUInt32LE(pos) === 0) { state.pos += size - pos; pos = 0; }
    state.name = null;
    try { apply(pos); } catch (e) {
      e.entry = state.name !== null ? state.name : ring.toString('utf8', state.entry, state.entry + state.nameLen);
      if (fd >= 0 && ring[pos + 4] !== 2) { try { fs.closeSync(fd); } catch {} fd = -1; }
      throw e;
    }
    state.pos += ring.readUInt32LE(pos);
    state.free = Math.min(state.pos, ring.readDoubleLE(pos + 64));
  },
  close() { if (fd >= 0) { try { fs.closeSync(fd); } catch {} fd = -1; } },
};
`;

/** The writer thread: applies committed records until asked to stop; reports a failure and stops at the first. */
export const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { sab, size, ctrlSab, doneSab } = workerData;
const ring = Buffer.from(sab, 0, size);
const ctrl = new Int32Array(ctrlSab);
const doneF = new Float64Array(doneSab);
const state = { pos: 0, free: 0, entry: 0, nameLen: 0, name: null };
const w = (function (fs, ring, size, state) { ${APPLY_BODY} })(fs, ring, size, state);
let seq = Atomics.load(ctrl, ${C.applied});
for (;;) {
  if (Atomics.load(ctrl, ${C.stop}) !== 0) break;
  const c = Atomics.load(ctrl, ${C.committed});
  if (c === seq) {
    // A short spin first: the main thread commits again within microseconds more often than not, and a sleep costs
    // both threads a system call.
    let spins = 0;
    while (spins < 4000 && Atomics.load(ctrl, ${C.committed}) === c && Atomics.load(ctrl, ${C.stop}) === 0) spins++;
    if (spins < 4000) continue;
    Atomics.store(ctrl, ${C.asleep}, 1);
    if (Atomics.load(ctrl, ${C.committed}) === c && Atomics.load(ctrl, ${C.stop}) === 0) Atomics.wait(ctrl, ${C.committed}, c, 1000);
    Atomics.store(ctrl, ${C.asleep}, 0);
    continue;
  }
  try { w.next(); } catch (e) {
    parentPort.postMessage({ message: e.message, code: e.code, entry: e.entry });
    Atomics.store(ctrl, ${C.failed}, 1);
    Atomics.notify(ctrl, ${C.applied});
    break;
  }
  seq++;
  doneF[0] = state.free;
  Atomics.store(ctrl, ${C.applied}, seq);
  if (Atomics.load(ctrl, ${C.waiting}) !== 0 && seq >= Atomics.load(ctrl, ${C.wantApplied}) && doneF[0] >= doneF[1]) Atomics.notify(ctrl, ${C.applied});
}
w.close();
`;
