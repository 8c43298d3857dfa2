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
  /**
   * Takes the newest part of rsync's stdout, read from its end (the runner's stdoutPoll): the updates are cumulative,
   * so only the newest one counts, even without its line end. `final` is everything up to the end, --stats too.
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
  // The output's end, for --stats.
  let finalText = '';
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
    feedTail(text, final) {
      if (final) finalText = text;
      const lines = text.split(/[\r\n]/);
      for (let i = lines.length - 1; i >= 0; i--) if (take(lines[i]!)) break;
    },
    finish() {
      const stats = parseRsyncStats(finalText);
      const prev = last as RsyncProgress | null;
      const bytes = stats.transferredSize ?? prev?.bytesDone ?? 0;
      const total = stats.totalFileSize ?? prev?.bytesTotal ?? bytes;
      emit({ bytesDone: Math.max(bytes, prev?.bytesDone ?? 0), bytesTotal: total, percent: 100, speedKBs: prev?.speedKBs ?? 0, etaS: 0 }, true);
      return bytes;
    },
  };
}
