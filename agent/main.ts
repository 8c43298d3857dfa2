// Process entry of the bundled agent: as PID 1 the initrd's init (the kernel may pass stray words as argv), else the command line.

import { main } from './cli.js';
import { runPid1 } from './init/pid1.js';

const entry = process.pid === 1 ? runPid1() : main(process.argv.slice(2));
entry.then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`si-agent: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
