// Remote syslog (LOG_SERVER): RFC 3164 messages over UDP; never throws into the install.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Level, Sink, Stamped } from './events.js';
import { describeEvent } from './describe-event.js';
import { createProgressThrottle } from './progress-throttle.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MAX_PACKET = 1024; // RFC 3164 section 4.1

export interface SyslogMessage {
  facility: number;
  severity: number;
  date: Date;
  hostname: string;
  tag: string;
  pid: number;
  message: string;
}

export interface SyslogSinkOptions {
  host: string;
  port: number;
  hostname: string;
  tag?: string;
  /** Syslog facility number (default 1, user, as `logger` uses). */
  facility?: number;
  /** Longest close() waits for datagrams still being sent (default 1000 ms). */
  closeTimeoutMs?: number;
}

/** Formats `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[pid]: MSG` (local time, space-padded day, at most 1024 bytes). */
export function formatSyslog(m: SyslogMessage): string {
  const pri = Math.max(0, Math.min(23, Math.trunc(m.facility))) * 8 + Math.max(0, Math.min(7, Math.trunc(m.severity)));
  const d = m.date;
  const two = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const host = m.hostname.replace(/\s+/g, '-') || '-';
  const tag = (m.tag.replace(/[^A-Za-z0-9_.-]/g, '') || 'si-agent').slice(0, 32);
  const msg = m.message.replace(/[\r\n]+/g, ' ');
  return truncateBytes(`<${pri}>${stamp} ${host} ${tag}[${m.pid}]: ${msg}`, MAX_PACKET);
}

/** The syslog severity of an event: fatal is crit (2), then error 3, warn 4, info 6, debug 7. */
export function severityOf(e: Stamped): number {
  if (e.type === 'fatal') return 2;
  const sev: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };
  return sev[describeEvent(e).level];
}

/** Makes a sink that sends each event (progress every 10 % or 10 s) to a syslog server over UDP. */
export function createSyslogSink(opts: SyslogSinkOptions): { sink: Sink; close(): Promise<void> } {
  let socket: Socket | null = createSocket(isIPv6(opts.host) ? 'udp6' : 'udp4');
  // Errors (DNS failure, ICMP unreachable) arrive here or in the send callback: both are ignored.
  socket.on('error', () => undefined);
  socket.unref();
  const throttle = createProgressThrottle();
  let pending = 0;
  let drained: (() => void) | null = null;

  const send = (line: string): void => {
    if (!socket) return;
    pending++;
    try {
      socket.send(Buffer.from(line), opts.port, opts.host, () => {
        pending--;
        if (pending === 0 && drained) drained();
      });
    } catch {
      pending--;
    }
  };

  const sink: Sink = (e) => {
    if (e.type === 'progress' && !throttle(e)) return;
    const severity = severityOf(e);
    for (const message of describeEvent(e).text.split('\n')) {
      if (message.trim() === '') continue;
      send(formatSyslog({ facility: opts.facility ?? 1, severity, date: new Date(e.ts), hostname: opts.hostname, tag: opts.tag ?? 'si-agent', pid: process.pid, message }));
    }
  };

  const close = async (): Promise<void> => {
    if (!socket) return;
    if (pending > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, opts.closeTimeoutMs ?? 1000);
        drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const s = socket;
    socket = null;
    try {
      s.close();
    } catch {
      // already closed
    }
  };
  return { sink, close };
}

/** Cuts a string so its UTF-8 encoding fits in n bytes, without splitting a character. */
function truncateBytes(s: string, n: number): string {
  if (Buffer.byteLength(s) <= n) return s;
  let out = s.slice(0, n);
  while (Buffer.byteLength(out) > n) out = out.slice(0, -1);
  return out;
}
