// Runs the whole suite with vitest and ends with the plain line "N passed, N failed, N skipped".
//
// One vitest, one file at a time (vitest's fileParallelism is off: system tests share loop devices). With
// SI_TEST_LANES=2 and no arguments, two lanes run at once, each one file at a time: the boot lane holds the QEMU boot
// files (test/boot), each of which keeps about one core busy (TCG runs a one-vCPU guest on one host thread;
// installed-boot runs two or three), the main lane everything else. On a 2-core machine that takes about 30 minutes
// instead of about 37, but the main lane's network tests then run beside the guests, and load brings out timing
// faults (it found three, fixed): CI runs one lane. The boot lane's lines are prefixed "[boot] ".
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** Every test file under test/ (vitest's include: test/**\/*.test.ts), relative, sorted. */
function testFiles() {
  return readdirSync('test', { recursive: true })
    .map((f) => `test/${f}`)
    .filter((f) => f.endsWith('.test.ts'))
    .sort();
}

/** Files of the boot lane: the boot tier. */
const isBootLane = (f) => f.startsWith('test/boot/');

/** Runs one vitest over args; its JSON report goes to out. Resolves with its exit code. */
function vitest(args, out, prefix) {
  rmSync(out, { force: true });
  const child = spawn('vitest', ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...args], {
    stdio: prefix ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  if (prefix) {
    for (const s of [child.stdout, child.stderr]) {
      createInterface({ input: s }).on('line', (l) => process.stdout.write(`${prefix}${l}\n`));
    }
  }
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

/** Pass, fail and skip counts of one JSON report; a missing or broken report counts as one failure. */
function counts(out) {
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    let failed = j.numFailedTests;
    if (j.numFailedTestSuites > 0 && failed === 0) failed = j.numFailedTestSuites;
    return { passed: j.numPassedTests, failed, skipped: j.numPendingTests + (j.numTodoTests ?? 0) };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

const args = process.argv.slice(2);
const started = Date.now();
let runs;
if (args.length > 0 || process.env.SI_TEST_LANES !== '2') {
  runs = [{ out: 'dist/test-results.json', code: vitest(args, 'dist/test-results.json') }];
} else {
  const files = testFiles();
  const boot = files.filter(isBootLane);
  const main = files.filter((f) => !isBootLane(f));
  console.log(`two lanes: main ${main.length} files, boot ${boot.length} files ([boot] lines)`);
  runs = [
    { out: 'dist/test-results.json', code: vitest(main, 'dist/test-results.json') },
    { out: 'dist/test-results-boot.json', code: vitest(boot, 'dist/test-results-boot.json', '[boot] ') },
  ];
}
const codes = await Promise.all(runs.map((r) => r.code));
const total = { passed: 0, failed: 0, skipped: 0 };
for (const r of runs) {
  const c = counts(r.out);
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
}
console.log(`suite: ${((Date.now() - started) / 60000).toFixed(1)} min`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(codes.every((c) => c === 0) && total.failed === 0 ? 0 : 1);
