// A sender busy with a cast for other receivers answers udp-receiver "Bad server reply 0006. Other transfer in
// progress?" and udp-receiver exits at once: the client waits for the next cast, and that is no failed attempt.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { castInProgress, receiveCast } from '../../../agent/transport/multicast/receive.js';
import { makeCollectingCtx } from '../../helpers/transport-ctx.js';
import { buildTar } from '../../helpers/tar-build.js';

const dir = mkdtempSync(join(tmpdir(), 'si-mc-busy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = { tool: process.env.SI_TOOL_UDP_RECEIVER, dir: process.env.SI_FAKE_UDP_DIR };
afterEach(() => {
  for (const [k, v] of [['SI_TOOL_UDP_RECEIVER', saved.tool], ['SI_FAKE_UDP_DIR', saved.dir]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

// A stand-in for udp-receiver: the first BUSY runs find the sender busy (udpcast's own words, exit 1), the next one
// joins the cast and writes the tar to stdout. Its state is in $SI_FAKE_UDP_DIR.
const FAKE = `#!/bin/sh
n=$(cat "$SI_FAKE_UDP_DIR/runs" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$SI_FAKE_UDP_DIR/runs"
if [ "$n" -le "$(cat "$SI_FAKE_UDP_DIR/busy")" ]; then
  echo "Udp-receiver 2004-02-22" >&2
  echo "Bad server reply 0006. Other transfer in progress?" >&2
  exit 1
fi
echo "Connected as #0 to 10.77.1.1" >&2
echo "Listening to multicast on 232.168.1.1" >&2
cat "$SI_FAKE_UDP_DIR/cast.tar"
`;

describe('multicast: a sender busy with another cast', () => {
  it('recognises udpcast\'s words for it', () => {
    expect(castInProgress('Udp-receiver 2004-02-22\nBad server reply 0006. Other transfer in progress?\n')).toBe(true);
    expect(castInProgress('Timeout notAnswered=[0] notReady=[0] nrAns=0 nrRead=0 nrPart=1 avg=10000\n')).toBe(false);
  });

  it('waits for the next cast without using up an attempt, then installs it', async () => {
    const state = join(dir, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'busy'), '2\n');
    writeFileSync(join(state, 'cast.tar'), buildTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/motd', data: 'cast\n' }]));
    const fake = join(dir, 'udp-receiver');
    writeFileSync(fake, FAKE);
    chmodSync(fake, 0o755);
    process.env.SI_TOOL_UDP_RECEIVER = fake;
    process.env.SI_FAKE_UDP_DIR = state;
    const dest = join(dir, 'dest');
    mkdirSync(dest);
    const ctx = makeCollectingCtx();
    const r = await receiveCast(ctx, { settings: { module: 'override_node001', portbase: 9010, nosync: false, async: false }, dest, waitS: 600, retries: 0, connectMs: 3000 });
    expect(r.attempts).toBe(1); // no retry budget was needed (retries: 0)
    expect(readFileSync(join(state, 'runs'), 'utf8').trim()).toBe('3');
    expect(readFileSync(join(dest, 'etc/motd'), 'utf8')).toBe('cast\n');
    expect(ctx.of('retry')).toEqual([]);
    expect(existsSync(join(dest, 'etc'))).toBe(true);
  }, 20_000);
});
