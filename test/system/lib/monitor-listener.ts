// A TCP listener on 127.0.0.1 that collects si_monitor lines, standing in for the monitor daemon.

import { createServer, type AddressInfo, type Server } from 'node:net';

export interface MonitorListener {
  port: number;
  lines: string[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (a free port); every received line is kept in order. */
export async function listenMonitor(): Promise<MonitorListener> {
  const lines: string[] = [];
  const server: Server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    sock.on('end', () => {
      if (buf.trim()) lines.push(buf.trim());
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    lines,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The status= values of monitor lines, in order. */
export function statuses(lines: string[]): number[] {
  return lines.map((l) => /(?:^|:)status=(-?\d+)/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
}
