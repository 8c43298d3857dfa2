// Child-process entry run inside the client namespace: runs the agent's DHCP client or network bring-up, prints JSON lines.

import { createRunner } from '../../../agent/exec/runner.js';
import { Reporter } from '../../../agent/report/events.js';
import { runDhcpOnLinks } from '../../../agent/net/dhcp-client.js';
import { configureNetwork } from '../../../agent/net/configure.js';
import { leaseToAssignments, type Lease } from '../../../agent/net/dhcp-options.js';
import { readLink } from '../../../agent/net/links.js';
import { pingHost } from '../../../agent/net/ping.js';
import { SiError } from '../../../agent/errors.js';
import type { Params } from '../../../agent/params/types.js';

interface EntryConfig {
  mode: 'dhcp' | 'configure';
  links?: string[];
  timeoutMs: number;
  baseMs?: number;
  capMs?: number;
  params?: Record<string, string>;
  resolvConf?: string;
  ping?: string;
}

function out(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function leaseJson(lease: Lease) {
  const { options, ...rest } = lease;
  return { ...rest, optionCodes: [...options.keys()] };
}

/** Runs what the config asks for and prints {event}, then {result} or {error} lines. */
export async function main(cfg: EntryConfig): Promise<void> {
  const report = new Reporter();
  report.addSink((e) => out({ event: e }));
  const run = createRunner(report);
  if (cfg.mode === 'dhcp') {
    const links = [];
    for (const name of cfg.links ?? []) {
      const l = await readLink(name);
      if (!l) throw new Error(`no link ${name}`);
      links.push({ iface: l.name, mac: l.mac });
    }
    const lease = await runDhcpOnLinks(links, { run, report, timeoutMs: cfg.timeoutMs, baseMs: cfg.baseMs ?? 1000, capMs: cfg.capMs ?? 4000 });
    out({ result: { lease: leaseJson(lease), assignments: leaseToAssignments(lease) } });
    return;
  }
  const params: Params = new Map(Object.entries(cfg.params ?? {}).map(([k, v]) => [k, { value: v, source: 'test' }]));
  const res = await configureNetwork({
    params,
    run,
    report,
    resolvConfPath: cfg.resolvConf ?? '/tmp/resolv.conf',
    dhcpTimeoutMs: cfg.timeoutMs,
    carrierWaitMs: 3000,
    dhcp: { baseMs: cfg.baseMs ?? 1000, capMs: cfg.capMs ?? 4000 },
  });
  const pinged = cfg.ping ? await pingHost(cfg.ping, { run, report, pauseMs: 200 }) : undefined;
  out({ result: { ...res, lease: res.lease ? leaseJson(res.lease) : undefined, pinged } });
}

main(JSON.parse(process.argv[2] ?? '{}') as EntryConfig).then(
  () => process.exit(0),
  (err: unknown) => {
    out({ error: { code: err instanceof SiError ? err.code : 'E_INTERNAL', message: (err as Error).message, details: err instanceof SiError ? err.details : [] } });
    process.exit(1);
  },
);
