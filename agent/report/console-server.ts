// MONITOR_CONSOLE=yes: serves the console log over TCP (all of it, then new lines), like `tail -F | ncat -l -k`.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

export interface ConsoleServerOptions {
  /** TCP port (8181 in 4.3); 0 lets the system choose. */
  port: number;
  host?: string;
  /** The file served: the install log. */
  logPath: string;
  /** How often the log is checked for new lines (default 250 ms). */
  pollMs?: number;
}

export interface ConsoleServer {
  port: number;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

/** Reads bytes [from, from+max) of path; an empty buffer when it cannot. */
function readFrom(path: string, from: number, max: number): Buffer {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, from);
    return buf.subarray(0, n);
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Size of path in bytes, 0 when it does not exist yet. */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Starts the console log server; each client gets the log from its start, then follows it. */
export function startConsoleServer(opts: ConsoleServerOptions): Promise<ConsoleServer> {
  const clients = new Map<Socket, { offset: number }>();

  // Sends each client what it has not had yet, a chunk at a time, respecting back-pressure.
  const feed = (socket: Socket): void => {
    const c = clients.get(socket);
    if (!c || socket.destroyed || socket.writableNeedDrain) return;
    const size = sizeOf(opts.logPath);
    if (size < c.offset) c.offset = 0; // the log was truncated or replaced: start again
    while (c.offset < size && !socket.writableNeedDrain) {
      const buf = readFrom(opts.logPath, c.offset, Math.min(CHUNK, size - c.offset));
      if (buf.length === 0) break;
      c.offset += buf.length;
      socket.write(buf);
    }
  };

  const server = createServer((socket) => {
    clients.set(socket, { offset: 0 });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => clients.delete(socket));
    socket.on('drain', () => feed(socket));
    socket.resume(); // input from the viewer is ignored
    feed(socket);
  });
  server.on('error', () => undefined);
  const timer = setInterval(() => {
    for (const s of clients.keys()) feed(s);
  }, opts.pollMs ?? 250);
  timer.unref();

  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            clearInterval(timer);
            for (const s of clients.keys()) {
              feed(s);
              // Half-close so queued log bytes still reach the viewer; cut off viewers that linger.
              s.end();
              setTimeout(() => s.destroy(), 500).unref();
            }
            clients.clear();
            server.close(() => done());
          }),
      });
    });
  });
}
