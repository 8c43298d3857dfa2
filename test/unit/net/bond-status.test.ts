import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLacp, parseLacpStatus, reportLacp } from '../../../agent/net/bond-status.js';
import { collectLog } from '../../helpers/log-lines.js';

// /proc/net/bonding/bond0 as Linux 6.1 writes it for an 802.3ad bond whose two ports aggregated with a partner.
const AGGREGATED = `Ethernet Channel Bonding Driver: v6.1.0-28-amd64

Bonding Mode: IEEE 802.3ad Dynamic link aggregation
Transmit Hash Policy: layer2 (0)
MII Status: up
MII Polling Interval (ms): 100
Up Delay (ms): 0
Down Delay (ms): 0
Peer Notification Delay (ms): 0

802.3ad info
LACP active: on
LACP rate: fast
Min links: 0
Aggregator selection policy (ad_select): stable
System priority: 65535
System MAC address: 52:54:00:5b:15:01
Active Aggregator Info:
	Aggregator ID: 1
	Number of ports: 2
	Actor Key: 9
	Partner Key: 42
	Partner Mac Address: 02:00:00:00:42:00

Slave Interface: eth0
MII Status: up
Speed: Unknown
Duplex: Unknown
Link Failure Count: 0
Permanent HW addr: 52:54:00:5b:15:01
Slave queue ID: 0
Aggregator ID: 1
Actor Churn State: none
Partner Churn State: none
Actor Churned Count: 0
Partner Churned Count: 0

Slave Interface: eth1
MII Status: up
Speed: Unknown
Duplex: Unknown
Link Failure Count: 0
Permanent HW addr: 52:54:00:5b:15:02
Slave queue ID: 0
Aggregator ID: 1
Actor Churn State: none
Partner Churn State: none
Actor Churned Count: 0
Partner Churned Count: 0
`;
// The same bond on switch ports that speak no LACP: each port its own aggregator, no partner.
const NO_PARTNER = AGGREGATED.replace('Number of ports: 2', 'Number of ports: 1')
  .replace('Partner Key: 42', 'Partner Key: 1')
  .replace('Partner Mac Address: 02:00:00:00:42:00', 'Partner Mac Address: 00:00:00:00:00:00')
  .replace(/(Slave Interface: eth1[\s\S]*?)Aggregator ID: 1/, '$1Aggregator ID: 2');

const dir = mkdtempSync(join(tmpdir(), 'si-bond-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('802.3ad status of a bond', () => {
  it('reads the active aggregator, its partner and the ports in it', () => {
    expect(parseLacpStatus(AGGREGATED)).toEqual({ aggregator: 1, partner: '02:00:00:00:42:00', partnerKey: 42, ports: ['eth0', 'eth1'], slaves: ['eth0', 'eth1'] });
    expect(describeLacp('bond0', parseLacpStatus(AGGREGATED)!)).toEqual({ text: 'bond0: 802.3ad aggregator 1 with partner 02:00:00:00:42:00 (key 42), ports eth0, eth1', warn: false });
  });

  it('no partner: a warning naming the one port that carries the traffic', () => {
    const s = parseLacpStatus(NO_PARTNER)!;
    expect(s.ports).toEqual(['eth0']);
    const d = describeLacp('bond0', s);
    expect(d.warn).toBe(true);
    expect(d.text).toMatch(/^bond0: 802\.3ad found no LACP partner .*aggregator 1, port eth0 only$/);
  });

  it('a slave outside the partner\'s aggregator is named', () => {
    const s = parseLacpStatus(AGGREGATED.replace(/(Slave Interface: eth1[\s\S]*?)Aggregator ID: 1/, '$1Aggregator ID: 2'))!;
    expect(describeLacp('bond0', s)).toEqual({ text: 'bond0: 802.3ad aggregator 1 with partner 02:00:00:00:42:00 (key 42), ports eth0; not aggregated: eth1', warn: true });
  });

  it('another mode, or no aggregator yet: nothing to say', () => {
    expect(parseLacpStatus(AGGREGATED.replace('IEEE 802.3ad Dynamic link aggregation', 'fault-tolerance (active-backup)'))).toBeUndefined();
    expect(parseLacpStatus(AGGREGATED.replace('Aggregator ID: 1\n\tNumber', 'Aggregator ID: 0\n\tNumber'))).toBeUndefined();
  });

  it('reportLacp logs the aggregation once the partner is there, warns when none answers in time, is silent for other modes', async () => {
    writeFileSync(join(dir, 'bond0'), AGGREGATED);
    const ok = collectLog();
    expect((await reportLacp('bond0', ok.report, { procNetBonding: dir, waitMs: 1000 }))?.partner).toBe('02:00:00:00:42:00');
    expect(ok.lines).toEqual(['info bond0: 802.3ad aggregator 1 with partner 02:00:00:00:42:00 (key 42), ports eth0, eth1']);

    writeFileSync(join(dir, 'bond1'), NO_PARTNER);
    const lone = collectLog();
    const t0 = Date.now();
    await reportLacp('bond1', lone.report, { procNetBonding: dir, waitMs: 600 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(lone.lines).toHaveLength(1);
    expect(lone.lines[0]).toMatch(/^warn bond1: 802\.3ad found no LACP partner/);

    writeFileSync(join(dir, 'bond2'), AGGREGATED.replace('IEEE 802.3ad Dynamic link aggregation', 'fault-tolerance (active-backup)'));
    const ab = collectLog();
    expect(await reportLacp('bond2', ab.report, { procNetBonding: dir, waitMs: 1000 })).toBeUndefined();
    expect(ab.lines).toEqual([]);
  });
});
