// The Flamethrower directory: one small file per module (`PORTBASE=`, `TTL=`, ...), read as data, never sourced.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ParamError, type Problem } from '../../errors.js';
import { parseBoolWord } from '../../params/validate.js';

/** How one module is cast (SPEC 7); absent fields mean udp-receiver's defaults. */
export interface CastSettings {
  module: string;
  portbase: number;
  ttl?: number;
  nosync: boolean;
  async: boolean;
  mcastAllAddr?: string;
  /** Retries of a failed cast (a module file's RETRY= wins over FLAMETHROWER_RETRIES). */
  retry?: number;
}

/** The module that holds the directory itself. */
export const DIRECTORY_MODULE = 'flamethrower_directory';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const SAFE_MODULE = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;

function int(v: string, lo: number, hi: number): number | undefined {
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= lo && n <= hi ? n : undefined;
}

/** Parses one module file (`KEY=value` lines; comments and blanks allowed); every bad value is a problem naming file and key. */
export function parseModuleFile(text: string, file: string, moduleName: string): { settings?: CastSettings; problems: Problem[]; unknown: string[] } {
  const source = `${DIRECTORY_MODULE}/${file}`;
  const problems: Problem[] = [];
  const unknown: string[] = [];
  const vals = new Map<string, { v: string; line: number }>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) {
      problems.push({ source: `${source}:${i + 1}`, key: '(line)', message: `${JSON.stringify(line)} is not KEY=value` });
      return;
    }
    vals.set(m[1]!.toUpperCase(), { v: m[2]!.replace(/^(["'])(.*)\1$/, '$2'), line: i + 1 });
  });
  const bad = (key: string, what: string) => {
    const e = vals.get(key)!;
    problems.push({ source: `${source}:${e.line}`, key, message: `${JSON.stringify(e.v)} is not ${what}` });
  };
  const s: CastSettings = { module: moduleName, portbase: 0, nosync: false, async: false };
  for (const [key, { v }] of vals) {
    switch (key) {
      case 'MODULE':
        if (v !== moduleName) bad(key, `this file's module (${moduleName})`);
        break;
      case 'PORTBASE': {
        const n = int(v, 2, 65534);
        if (n === undefined || n % 2 !== 0) bad(key, 'an even port number (udpcast uses it and the next one)');
        else s.portbase = n;
        break;
      }
      case 'TTL': {
        const n = int(v, 0, 255);
        if (n === undefined) bad(key, 'a TTL (0-255)');
        else s.ttl = n;
        break;
      }
      case 'NOSYNC':
      case 'ASYNC': {
        const b = parseBoolWord(v);
        if (b === undefined) bad(key, 'on/off');
        else if (key === 'NOSYNC') s.nosync = b;
        else s.async = b;
        break;
      }
      case 'MCAST_ALL_ADDR':
        if (!IPV4.test(v)) bad(key, 'an IPv4 address');
        else s.mcastAllAddr = v;
        break;
      case 'RETRY': {
        const n = int(v, 0, 1000);
        if (n === undefined) bad(key, 'a number of retries');
        else s.retry = n;
        break;
      }
      default:
        unknown.push(key);
    }
  }
  if (!vals.has('PORTBASE')) problems.push({ source, key: 'PORTBASE', message: 'missing: every module file names its portbase' });
  return problems.length ? { problems, unknown } : { settings: s, problems, unknown };
}

/** Reads every module file of a received directory; throws one ParamError listing every problem. */
export function readDirectory(dir: string, warn: (msg: string) => void): Map<string, CastSettings> {
  const out = new Map<string, CastSettings>();
  const problems: Problem[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (!statSync(full).isFile()) continue;
    if (!SAFE_MODULE.test(name)) {
      warn(`${DIRECTORY_MODULE}: ignoring ${JSON.stringify(name)}: not a module name`);
      continue;
    }
    const r = parseModuleFile(readFileSync(full, 'utf8'), name, name);
    problems.push(...r.problems);
    if (r.unknown.length) warn(`${DIRECTORY_MODULE}/${name}: unknown keys ignored: ${r.unknown.join(', ')}`);
    if (r.settings) out.set(name, r.settings);
  }
  if (problems.length) throw new ParamError(problems);
  return out;
}
