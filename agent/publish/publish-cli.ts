// Wires `si-agent publish` to the command line: defaults, --gen-key, the console progress on stderr, a summary on stdout.

import type { CliCommand } from '../cli-args.js';
import { SiError } from '../errors.js';
import { generateKey } from './keys.js';
import { consoleProgress } from './progress.js';
import { publishTree } from './publish.js';

const BASE = '/var/lib/systemimager';

/** Runs publish (or --gen-key) from the parsed command line; returns the exit code. */
export async function runPublishCommand(cmd: CliCommand): Promise<number> {
  if (cmd.genKey !== undefined) {
    const { fingerprint, publicKey } = generateKey(cmd.genKey);
    process.stdout.write(`${cmd.genKey}: ed25519 private key (keep it on the image server)\n${cmd.genKey}.pub: public key ${publicKey}\nfingerprint ${fingerprint}\n`);
    return 0;
  }
  if (!cmd.out) throw new SiError('E_USAGE', 'publish needs --out DIR (the publish tree to write)');
  if (cmd.torrents !== undefined && !/^(https?|udp):\/\/[^\s/]+/.test(cmd.torrents)) throw new SiError('E_USAGE', `--torrents: ${JSON.stringify(cmd.torrents)} is not a tracker URL (http://HOST:PORT/announce)`);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await publishTree({
      images: cmd.images ?? `${BASE}/images`,
      overrides: cmd.overrides ?? `${BASE}/overrides`,
      scripts: cmd.scripts ?? `${BASE}/scripts`,
      out: cmd.out,
      imageNames: cmd.imageNames,
      ...(cmd.signKey !== undefined ? { signKey: cmd.signKey } : {}),
      ...(cmd.torrents !== undefined ? { torrents: cmd.torrents } : {}),
      multicast: cmd.multicast,
      report: consoleProgress(process.stderr),
      signal: controller.signal,
    });
    for (const t of r.torrents) process.stdout.write(`torrent ${t.file} info hash ${t.infoHash}\n`);
    for (const c of r.casts) process.stdout.write(`multicast ${c.module}: sha256 ${c.sha256}, ${c.size} bytes (scripts-extra/${c.module}.sha256)\n`);
    process.stdout.write(`published ${r.artefacts.length} artefacts to ${r.out}${r.signed ? `, signed by ${r.manifest.fingerprint}` : ', unsigned'}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
