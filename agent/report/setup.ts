// Wires the sinks the parameters ask for (console, /tmp/si.log, SI_EVENTS, LOG_SERVER, MONITOR_SERVER) to a reporter.

import * as os from 'node:os';
import type { Reporter, Sink } from './events.js';
import { createConsoleSink } from './console-sink.js';
import { startConsoleServer } from './console-server.js';
import { createJsonLinesSink, createLogFileSink } from './log-file-sink.js';
import { createMonitorSink, type MonitorInfo } from './monitor.js';
import { createSyslogSink } from './syslog-sink.js';
import { collectMonitorInfo } from './sysinfo.js';

export interface AttachOptions {
  /** Console stream (default process.stdout) and whether it is a terminal (default its isTTY). */
  out?: NodeJS.WritableStream;
  tty?: boolean;
  width?: number;
  verbose?: boolean;
  /** Human log (default /tmp/si.log); null for none. */
  logPath?: string | null;
  /** JSON-lines events file (default $SI_EVENTS; none when unset). */
  eventsPath?: string;
  /** LOG_SERVER and LOG_SERVER_PORT (default 514). */
  logServer?: string;
  logServerPort?: number;
  /** HOSTNAME as told to syslog and the monitor (default os.hostname()). */
  hostname?: string;
  /** MONITOR_SERVER and MONITOR_PORT (default 8181). */
  monitorServer?: string;
  monitorPort?: number;
  monitorIntervalMs?: number;
  /** What the monitor is told; default read from /proc and /sys with iface, ip, hostname, imageName. */
  monitorInfo?: () => MonitorInfo;
  iface?: string;
  ip?: string;
  imageName?: string;
  /** MONITOR_CONSOLE=yes: serve the log on consolePort (default 8181). */
  monitorConsole?: boolean;
  consolePort?: number;
}

/** Attaches every configured sink; returns (and registers with the reporter) one idempotent closer. */
export async function attachSinks(reporter: Reporter, opts: AttachOptions = {}): Promise<() => Promise<void>> {
  const removers: Array<() => void> = [];
  const closers: Array<() => Promise<void>> = []; // closed in order: network first, files last
  const add = (sink: Sink): void => {
    removers.push(reporter.addSink(sink));
  };
  const hostname = opts.hostname ?? os.hostname();

  const out = opts.out ?? process.stdout;
  const tty = opts.tty ?? Boolean((out as NodeJS.WriteStream).isTTY);
  const width = opts.width ?? ((out as NodeJS.WriteStream).columns || 80);
  let done: Promise<void> | null = null;
  const closeAll = (): Promise<void> =>
    (done ??= (async () => {
      for (const c of closers) {
        try {
          await c();
        } catch {
          // best effort
        }
      }
      for (const r of removers) r();
    })());
  // The console sink carries the closer, so reporter.close() also closes everything attached here.
  removers.push(reporter.addSink(createConsoleSink(out, { tty, width, verbose: opts.verbose }), closeAll));

  if (opts.monitorServer) {
    const info = opts.monitorInfo ?? (() => collectMonitorInfo({ iface: opts.iface, ip: opts.ip, host: hostname, imageName: opts.imageName }));
    const m = createMonitorSink({
      server: opts.monitorServer,
      port: opts.monitorPort ?? 8181,
      info,
      intervalMs: opts.monitorIntervalMs,
      onError: (msg) => reporter.warn(msg),
    });
    add(m.sink);
    closers.push(m.close);
  }
  if (opts.logServer) {
    try {
      const s = createSyslogSink({ host: opts.logServer, port: opts.logServerPort ?? 514, hostname });
      add(s.sink);
      closers.push(s.close);
    } catch (err) {
      reporter.warn(`remote syslog to ${opts.logServer} not started: ${(err as Error).message}`);
    }
  }
  const files: Array<() => Promise<void>> = [];
  const logPath = opts.logPath === undefined ? '/tmp/si.log' : opts.logPath;
  if (logPath) {
    try {
      const f = createLogFileSink(logPath);
      add(f.sink);
      files.push(f.close);
    } catch (err) {
      reporter.warn(`log file ${logPath} not opened: ${(err as Error).message}`);
    }
  }
  const eventsPath = opts.eventsPath ?? process.env['SI_EVENTS'];
  if (eventsPath) {
    try {
      const j = createJsonLinesSink(eventsPath);
      add(j.sink);
      files.push(j.close);
    } catch (err) {
      reporter.warn(`events file ${eventsPath} not opened: ${(err as Error).message}`);
    }
  }
  if (opts.monitorConsole && logPath) {
    try {
      const srv = await startConsoleServer({ port: opts.consolePort ?? 8181, logPath });
      closers.push(srv.close);
      reporter.info(`console log served on TCP port ${srv.port}`);
    } catch (err) {
      reporter.warn(`console server not started: ${(err as Error).message}`);
    }
  }
  closers.push(...files);

  return closeAll;
}
