// Child-process entry run inside the client namespace: the agent's network bring-up with IPv6, a ping and name lookups.

import { createRunner } from '../../../agent/exec/runner.js';
import { Reporter } from '../../../agent/report/events.js';
import { configureNetwork } from '../../../agent/net/configure.js';
import { pingHost } from '../../../agent/net/ping.js';
import { resolveServerName } from '../../../agent/net/server-names.js';
import { SiError } from '../../../agent/errors.js';
import type { Params } from '../../../agent/params/types.js';

interface EntryConfig {
  params: Record<string, string>;
  resolvConf: string;
  timeoutMs?: number;
  ping?: string;
  resolve?: string[];
}

function out(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Brings the network up as configured and prints {event} lines, then {result} or {error}. */
export async function main(cfg: EntryConfig): Promise<void> {
  const report = new Reporter();
  report.addSink((e) => out({ event: e }));
  const run = createRunner(report);
  const params: Params = new Map(Object.entries(cfg.params).map(([k, v]) => [k, { value: v, source: 'test' }]));
  const res = await configureNetwork({
    params,
    run,
    report,
    resolvConfPath: cfg.resolvConf,
    dhcpTimeoutMs: cfg.timeoutMs ?? 20_000,
    carrierWaitMs: 3000,
    dhcp: { baseMs: 1000, capMs: 4000 },
    ipv6: { timeoutMs: cfg.timeoutMs ?? 20_000, routeWaitMs: 8000, dhcp6: { timeScale: 0.5 } },
  });
  const pinged = cfg.ping ? await pingHost(cfg.ping, { run, report, pauseMs: 200 }) : undefined;
  const resolved: Record<string, string> = {};
  for (const n of cfg.resolve ?? []) resolved[n] = (await resolveServerName(n, { resolvConfPath: cfg.resolvConf, families: [6, 4] })).address;
  const { lease, ...rest } = res;
  out({ result: { ...rest, leaseIp: lease?.ip, pinged, resolved } });
}

main(JSON.parse(process.argv[2] ?? '{}') as EntryConfig).then(
  () => process.exit(0),
  (err: unknown) => {
    out({ error: { code: err instanceof SiError ? err.code : 'E_INTERNAL', message: (err as Error).message, details: err instanceof SiError ? err.details : [] } });
    process.exit(1);
  },
);
