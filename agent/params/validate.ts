// Checks parameter values against their kinds (every problem at once) and reads them as typed values.

import { isIP, isIPv4 } from 'node:net';
import { ParamError, type Problem } from '../errors.js';
import type { Params, Tagged } from './types.js';
import { findParam, type ParamSpec } from './names.js';
import { checkNetKind } from './net-values.js';
import { readNetStack } from './net-stack.js';
import { checkIPv6 } from '../net/ipv6-values.js';
import { checkHttpKind } from './http-values.js';

const TRUE_WORDS = new Set(['y', 'yes', '1', 'true', 'on']);
const FALSE_WORDS = new Set(['n', 'no', '0', 'false', 'off']);

/** Validates every parameter; returns all problems, each naming source, key and value. */
export function validateParams(params: Params): Problem[] {
  const problems: Problem[] = [];
  for (const [name, tagged] of params) {
    const why = checkValue(name, tagged.value);
    if (why) problems.push({ source: tagged.source, key: name, message: `${JSON.stringify(tagged.value)} ${why}` });
  }
  problems.push(...readNetStack(params).problems); // VLAN, bond and DEVICE together (net-stack.ts)
  return problems;
}

/** Why a value is not acceptable for a parameter, or undefined when it is fine (unknown names accept anything printable). */
export function checkValue(name: string, value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return 'contains a control character (newline?)';
  const spec = findParam(name);
  if (!spec || value === '') return undefined;
  switch (spec.kind) {
    case 'bool':
      return parseBoolWord(value) === undefined ? 'is not a boolean (y/yes/1/true or n/no/0/false)' : undefined;
    case 'port':
      return parsePortWord(value) === undefined ? 'is not a port (1-65535)' : undefined;
    case 'uint':
      return parseUintWord(value) === undefined ? 'is not a whole number (0 or more)' : undefined;
    case 'ip':
      return isIPv4(value) && !/(^|\.)0\d/.test(value) ? undefined : 'is not an IPv4 address';
    case 'host':
      return isIP(value) || isHostName(value) ? undefined : 'is neither an IP address nor a host name';
    case 'enum':
      return normalizeEnum(spec, value) === undefined ? `is not one of ${spec.values!.join(', ')}` : undefined;
    case 'diskorder':
      return parseDiskOrder(value) === undefined ? 'is not a disk order (comma-separated device name prefixes, e.g. sd,nvme,vd,hd)' : undefined;
    case 'ip6':
      return checkIPv6(value, false);
    case 'ip6prefix':
      return checkIPv6(value, true);
    case 'mtu': case 'vlanid': case 'ifname': case 'link': case 'links': case 'bondopts': case 'ifnames': case 'dnslist':
      return checkNetKind(spec.kind, value);
    case 'string':
      return undefined;
    default:
      return checkHttpKind(spec.kind, value);
  }
}

/** y/yes/1/true/on -> true, n/no/0/false/off -> false, any case; undefined otherwise. */
export function parseBoolWord(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  return TRUE_WORDS.has(v) ? true : FALSE_WORDS.has(v) ? false : undefined;
}

/** A TCP/UDP port 1-65535 written in decimal, or undefined. */
export function parsePortWord(value: string): number | undefined {
  const n = parseUintWord(value);
  return n !== undefined && n >= 1 && n <= 65535 ? n : undefined;
}

/** A decimal whole number (up to 2^31-1), or undefined. */
export function parseUintWord(value: string): number | undefined {
  if (!/^\d{1,10}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n <= 2147483647 ? n : undefined;
}

/** RFC 1123 host name (labels of letters, digits and hyphens, dots between). */
export function isHostName(value: string): boolean {
  if (value.length > 253) return false;
  return value.replace(/\.$/, '').split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

/** DISKORDER as a list of device prefixes (commas and/or spaces between), or undefined when malformed. */
export function parseDiskOrder(value: string): string[] | undefined {
  const items = value.trim().split(/\s*,\s*|\s+/);
  if (items.some((x) => !/^[a-z][a-z0-9_/-]{0,31}$/.test(x))) return undefined;
  return items;
}

/** Canonical enum value (lower case, 4.3 synonyms mapped), or undefined. */
export function normalizeEnum(spec: ParamSpec, value: string): string | undefined {
  const v = value.trim().toLowerCase();
  const mapped = spec.synonyms?.[v] ?? v;
  return spec.values?.includes(mapped) ? mapped : undefined;
}

/** The value set for a parameter (may be ''), undefined when absent. */
export function getString(params: Params, name: string): string | undefined {
  return params.get(findParam(name)?.name ?? name)?.value;
}

/** The value of a parameter, or '' when absent; empty counts as absent. */
function effective(params: Params, name: string): { spec: ParamSpec; tagged?: Tagged; value: string } {
  const spec = findParam(name);
  if (!spec) throw new ParamError([{ source: 'internal', key: name, message: 'is not a known parameter' }]);
  const tagged = params.get(spec.name);
  const value = tagged === undefined ? spec.default ?? '' : tagged.value === '' ? spec.emptyMeans ?? spec.default ?? '' : tagged.value;
  return tagged === undefined ? { spec, value } : { spec, tagged, value };
}

/** Throws a ParamError naming where a bad value came from. */
function fail(name: string, tagged: Tagged | undefined, value: string, why: string): never {
  throw new ParamError([{ source: tagged?.source ?? 'default', key: name, message: `${JSON.stringify(value)} ${why}` }]);
}

/** A boolean parameter (absent or empty: its default, else false). */
export function getBool(params: Params, name: string): boolean {
  const { tagged, value } = effective(params, name);
  if (value === '') return false;
  return parseBoolWord(value) ?? fail(name, tagged, value, 'is not a boolean');
}

/** A port parameter; throws when absent without default or malformed. */
export function getPort(params: Params, name: string): number {
  const port = getOptionalPort(params, name);
  return port ?? fail(name, params.get(name), '', 'is not set');
}

/** A port parameter, undefined when absent without default. */
export function getOptionalPort(params: Params, name: string): number | undefined {
  const { tagged, value } = effective(params, name);
  if (value === '') return undefined;
  return parsePortWord(value) ?? fail(name, tagged, value, 'is not a port (1-65535)');
}

/** A whole-number parameter (absent: its default, else 0). */
export function getUint(params: Params, name: string): number {
  const { tagged, value } = effective(params, name);
  if (value === '') return 0;
  return parseUintWord(value) ?? fail(name, tagged, value, 'is not a whole number');
}

/** An enum parameter in canonical form (e.g. POST_ACTION poweroff -> shutdown); undefined when absent without default. */
export function getEnum(params: Params, name: string): string | undefined {
  const { spec, tagged, value } = effective(params, name);
  if (value === '') return undefined;
  return normalizeEnum(spec, value) ?? fail(name, tagged, value, `is not one of ${spec.values!.join(', ')}`);
}

/** DISKORDER as a list ([] when unset). */
export function getDiskOrder(params: Params): string[] {
  const { tagged, value } = effective(params, 'DISKORDER');
  if (value === '') return [];
  return parseDiskOrder(value) ?? fail('DISKORDER', tagged, value, 'is not a disk order');
}
