// The one stream of typed events that every sink (console, log file, JSON lines, syslog, monitor) renders.

export type Level = 'debug' | 'info' | 'warn' | 'error';

export type SiEvent =
  | { type: 'step-start'; step: string; title: string }
  | { type: 'step-end'; step: string; ok: boolean; ms: number; error?: string }
  | { type: 'command'; argv: string[] }
  /** quiet: a probe run with RunOptions.quiet, whose failure is expected and logged at debug level only. */
  | { type: 'command-end'; argv: string[]; code: number | null; signal: string | null; ms: number; quiet?: boolean }
  | { type: 'progress'; phase: string; percent: number; bytesDone: number; bytesTotal: number | null; speedKBs: number; etaS: number | null; extra?: string }
  | { type: 'retry'; what: string; attempt: number; delayMs: number; error: string }
  | { type: 'log'; level: Level; message: string }
  | { type: 'status'; status: number; message?: string }
  | { type: 'fatal'; step: string | null; message: string; details: string[]; disks: string[] }
  // The transport the image comes over, once it is up; for SSH the peer and its host key fingerprint.
  | { type: 'transport'; transport: string; peer?: string; fingerprint?: string; detail?: string }
  // Announces the ordered step list so the console can number steps `[3/12]`.
  | { type: 'steps-planned'; steps: Array<{ step: string; title: string }> };

export type Stamped<E extends SiEvent = SiEvent> = E & { ts: number };

export type Sink = (e: Stamped) => void;

/** Fan-out of events to sinks; a failing sink never breaks the install. */
export class Reporter {
  private sinks: Sink[] = [];
  private closers: Array<() => Promise<void> | void> = [];

  /** Adds a sink; returns a function that removes it. */
  addSink(sink: Sink, close?: () => Promise<void> | void): () => void {
    this.sinks.push(sink);
    if (close) this.closers.push(close);
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  /** Sends one event to every sink. */
  emit(e: SiEvent): void {
    const stamped = { ...e, ts: Date.now() } as Stamped;
    for (const s of this.sinks) {
      try {
        s(stamped);
      } catch {
        // A sink that throws (closed socket, full disk) must not stop the install.
      }
    }
  }

  info(message: string): void {
    this.emit({ type: 'log', level: 'info', message });
  }
  warn(message: string): void {
    this.emit({ type: 'log', level: 'warn', message });
  }
  error(message: string): void {
    this.emit({ type: 'log', level: 'error', message });
  }
  debug(message: string): void {
    this.emit({ type: 'log', level: 'debug', message });
  }

  /** Flushes and closes every sink that has a closer. */
  async close(): Promise<void> {
    const closers = this.closers;
    this.closers = [];
    for (const c of closers) {
      try {
        await c();
      } catch {
        // closing is best effort
      }
    }
  }
}
