// What publish says as it goes: a progress bar per artefact on a terminal (bytes packed of the tree's size), one line
// per artefact otherwise.

export type PublishEvent =
  | { type: 'start'; path: string; total: number }
  | { type: 'data'; path: string; done: number; total: number }
  | { type: 'done'; path: string; status: 'packed' | 'unchanged'; size: number; sha256: string; seconds: number }
  | { type: 'info'; message: string }
  | { type: 'warn'; message: string };

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}

/** A renderer for a stream (stderr): redraws one bar line on a TTY at most every 200 ms, plain lines otherwise. */
export function consoleProgress(out: NodeJS.WriteStream, tty = out.isTTY === true): (ev: PublishEvent) => void {
  let last = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) out.write('\r\x1b[K');
    drawn = false;
  };
  return (ev) => {
    switch (ev.type) {
      case 'start':
        if (!tty) return;
        last = 0;
        return;
      case 'data': {
        if (!tty || Date.now() - last < 200) return;
        last = Date.now();
        const frac = ev.total > 0 ? Math.min(1, ev.done / ev.total) : 1;
        const width = 30;
        const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
        out.write(`\r\x1b[K${ev.path} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${mib(ev.done)}/${mib(ev.total)} MiB`);
        drawn = true;
        return;
      }
      case 'done':
        clear();
        out.write(`${ev.path}: ${ev.status}, ${ev.size} bytes, sha256 ${ev.sha256}${ev.status === 'packed' ? ` (${ev.seconds.toFixed(1)} s)` : ''}\n`);
        return;
      case 'info':
        clear();
        out.write(`${ev.message}\n`);
        return;
      case 'warn':
        clear();
        out.write(`warning: ${ev.message}\n`);
    }
  };
}
