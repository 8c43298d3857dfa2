// Turns rsync's `--info=progress2` output (`\r`-separated updates) and `--stats` totals into progress numbers.

export interface RsyncProgress {
  bytesDone: number;
  bytesTotal: number | null;
  percent: number;
  speedKBs: number;
  etaS: number | null;
}

export interface Progress2Line {
  bytesDone: number;
  percent: number;
  speedKBs: number;
  /** rsync's time column: remaining time while a file is going, elapsed time on `(xfr#N, ...)` lines. */
  timeS: number;
  fileDone: boolean;
}

const LINE = /^\s*([\d,.']+)\s+(\d{1,3})%\s+([\d.,]+)([kKMGT]?i?B)\/s\s+(\d+):(\d{2}):(\d{2})(.*)$/;
const UNIT_KB: Record<string, number> = { B: 1 / 1024, k: 1, K: 1, M: 1024, G: 1024 ** 2, T: 1024 ** 3 };

/** Parses one progress2 update such as `  5,242,880  80%   10.00MB/s    0:00:01 (xfr#5, to-chk=3/60)`; null if it is not one. */
export function parseProgress2Line(line: string): Progress2Line | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const unit = m[4]!.startsWith('B') ? 'B' : m[4]![0]!;
  return {
    bytesDone: Number(m[1]!.replace(/[,.']/g, '')),
    percent: Math.min(100, Number(m[2])),
    speedKBs: Number(m[3]!.replace(',', '.')) * (UNIT_KB[unit] ?? 1),
    timeS: Number(m[5]) * 3600 + Number(m[6]) * 60 + Number(m[7]),
    fileDone: /xfr#/.test(m[8]!),
  };
}

/** Totals from `--stats`: the size of every file in the transfer and of the files actually sent. */
export function parseRsyncStats(text: string): { totalFileSize: number | null; transferredSize: number | null } {
  const num = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]!.replace(/[,.']/g, '')) : null;
  };
  return { totalFileSize: num(/^Total file size: ([\d,.']+)/m), transferredSize: num(/^Total transferred file size: ([\d,.']+)/m) };
}

export interface ProgressTracker {
  /** Feeds a chunk of rsync's stdout (chunks may split updates anywhere). */
  feed(chunk: string): void;
  /**
   * Takes the newest part of the output, read from its end (the runner's stdoutPoll): not continued from the last
   * call, so the newest update counts even without its line end. `final` is everything up to the end, --stats too.
   */
  feedTail(text: string, final: boolean): void;
  /** Ends the stream: emits the final 100% update using the `--stats` total when known; returns the bytes counted. */
  finish(): number;
}

/**
 * Makes a tracker that calls onProgress at most every minIntervalMs (and whenever the percent changes), never going
 * backwards. knownTotal (bytes, from a listing made before) replaces rsync's own percent, which with incremental
 * recursion counts only the files listed so far; the last 100% comes from finish().
 */
export function createProgressTracker(onProgress: (p: RsyncProgress) => void, minIntervalMs = 500, now: () => number = Date.now, knownTotal?: number): ProgressTracker {
  let partial = '';
  // The last 64 KiB of output, for --stats at the end: kept as chunks, so a long transfer's thousands of updates
  // do not each copy the whole tail.
  const tail: string[] = [];
  let tailSize = 0;
  let last: RsyncProgress | null = null;
  let lastAt = 0;
  const emit = (p: RsyncProgress, force: boolean) => {
    if (last && p.percent < last.percent) p = { ...p, percent: last.percent };
    if (!force && last && p.percent === last.percent && now() - lastAt < minIntervalMs) return;
    last = p;
    lastAt = now();
    onProgress(p);
  };
  /** Takes one line; false when it is not a progress update. */
  const take = (line: string): boolean => {
    const u = parseProgress2Line(line);
    if (!u) return false;
    // Without a known total it is estimated from the integer percent until --stats gives the exact number at the end.
    const bytesTotal = knownTotal ?? (u.percent > 0 ? Math.round((u.bytesDone * 100) / u.percent) : null);
    const percent = knownTotal ? Math.min(99, Math.floor((u.bytesDone * 100) / knownTotal)) : u.percent;
    const etaS = bytesTotal !== null && u.speedKBs > 0 ? Math.max(0, Math.round((bytesTotal - u.bytesDone) / 1024 / u.speedKBs)) : null;
    emit({ bytesDone: u.bytesDone, bytesTotal, percent, speedKBs: Math.round(u.speedKBs), etaS }, false);
    return true;
  };
  return {
    feed(chunk) {
      tail.push(chunk);
      tailSize += chunk.length;
      while (tail.length > 1 && tailSize - tail[0]!.length >= 65536) tailSize -= tail.shift()!.length;
      // The updates are cumulative: of a chunk's complete lines only the last update counts, so the lines are read
      // from the end back to the first one that is an update (a system image prints one per file, thousands).
      const text = partial + chunk;
      const lineStart = (before: number) => Math.max(text.lastIndexOf('\r', before), text.lastIndexOf('\n', before)) + 1;
      const end = lineStart(text.length - 1) - 1;
      partial = text.slice(end + 1);
      for (let stop = end; stop > 0; ) {
        const start = lineStart(stop - 1);
        if (take(text.slice(start, stop))) break;
        stop = start - 1;
      }
    },
    feedTail(text, final) {
      partial = '';
      if (final) tail.push(text);
      const lines = text.split(/[\r\n]/);
      for (let i = lines.length - 1; i >= 0; i--) if (take(lines[i]!)) break;
    },
    finish() {
      if (partial) take(partial);
      partial = '';
      const stats = parseRsyncStats(tail.join(''));
      const prev = last as RsyncProgress | null;
      const bytes = stats.transferredSize ?? prev?.bytesDone ?? 0;
      const total = stats.totalFileSize ?? prev?.bytesTotal ?? bytes;
      emit({ bytesDone: Math.max(bytes, prev?.bytesDone ?? 0), bytesTotal: total, percent: 100, speedKBs: prev?.speedKBs ?? 0, etaS: 0 }, true);
      return bytes;
    },
  };
}
