// Process entry of the bundled agent: as PID 1 the initrd's init (the kernel may pass stray words as argv), else the command line.
// Each side loads only its own code: PID 1 does not evaluate the install flow it hands to its worker, and the worker
// does not evaluate PID 1's supervisor (a tenth of a second or more each, emulated).

const entry = process.pid === 1 ? import('./init/pid1.js').then((m) => m.runPid1()) : import('./cli.js').then((m) => m.main(process.argv.slice(2)));
entry.then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`si-agent: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
