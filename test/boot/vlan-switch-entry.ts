// Runs the VLAN switch (vlan-switch.ts) as its own process, inside the test's namespace: `node vlan-switch-entry.cjs
// '<SwitchConfig JSON>'`. Says "listening" once every port is bound; SIGTERM writes the counters a last time and ends.

import { startSwitch, type SwitchConfig } from './vlan-switch.ts';

const cfg = JSON.parse(process.argv[2] ?? '{}') as SwitchConfig;
startSwitch(cfg).then(
  (sw) => {
    console.log('listening');
    process.on('SIGTERM', () => {
      sw.stop();
      process.exit(0);
    });
  },
  (e: unknown) => {
    console.error(`vlan-switch: ${(e as Error).message}`);
    process.exit(1);
  },
);
