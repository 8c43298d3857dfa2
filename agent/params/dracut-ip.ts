// Reads one dracut `ip=` word (dracut.cmdline(7)): the method alone, on one interface, or the full static form.

import { isIP, isIPv4, isIPv6 } from 'node:net';
import { isLinkName, isMac, numberIn } from './net-values.js';

/** What one family (IPv4 or IPv6) gets from an ip= word. */
export interface FamilySetting {
  method: 'dhcp' | 'static' | 'off' | 'auto' | 'dhcp6';
  addr?: string; // static: address (IPv6 without brackets)
  prefix?: number;
  gateway?: string;
}

export interface IpWord {
  word: string; // `ip=...` as written
  iface?: string;
  v4?: FamilySetting;
  v6?: FamilySetting;
  hostname?: string;
  mtu?: string;
  mac?: string;
  dns: string[];
  notes: string[];
}

const GLOBAL = ['dhcp', 'on', 'any', 'dhcp6', 'auto6', 'either6', 'off', 'none'];
const ON_IFACE = [...GLOBAL, 'link6'];
const STATIC = ['none', 'off', 'dhcp', 'on', 'any', 'dhcp6', 'auto6', 'either6', 'ibft'];
const FORMS = 'expected ip=<method>, ip=<iface>:<method>[:[<mtu>][:<macaddr>]] or ip=<client-IP>:[<peer>]:<gateway-IP>:<netmask>:<hostname>:<iface>:<method>[:[<mtu>][:<macaddr>]]';

/** Splits at colons outside [brackets], dropping the brackets of each [IPv6] field. */
export function splitIpFields(value: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const c of value) {
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ':' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    if (depth < 0 || depth > 1) return undefined;
    if (c !== '[' && c !== ']') cur += c;
  }
  if (depth !== 0) return undefined;
  out.push(cur);
  return out;
}

/** The settings of a dynamic method (dhcp, auto6, off, ...) for each family. */
function methodSettings(method: string): Pick<IpWord, 'v4' | 'v6'> {
  switch (method) {
    case 'dhcp': case 'on': case 'any': return { v4: { method: 'dhcp' } };
    case 'dhcp6': return { v6: { method: 'dhcp6' } };
    case 'auto6': case 'either6': return { v6: { method: 'auto' } };
    case 'link6': return { v6: { method: 'off' } }; // link-local only: no global IPv6 address
    default: return { v4: { method: 'off' }, v6: { method: 'off' } }; // off, none
  }
}

/** Reads an ip= value into its settings, or the reason it is not one of dracut's forms. */
export function parseIpWord(value: string): IpWord | { error: string } {
  const word = `ip=${value}`;
  let fields = splitIpFields(value);
  if (!fields) return { error: 'has unbalanced [brackets]' };
  const r: IpWord = { word, dns: [], notes: [] };
  // A trailing MAC address spans six colon-separated fields.
  if (fields.length >= 8 && isMac(fields.slice(-6).join(':'))) {
    r.mac = fields.slice(-6).join(':').toLowerCase();
    fields = fields.slice(0, -6);
    r.notes.push(`${word}: the MAC address ${r.mac} is not set on the interface (si-agent keeps the NIC's own)`);
  }
  const f = fields;
  if (f.length === 1) {
    if (!GLOBAL.includes(f[0]!)) return { error: `method "${f[0]}" is not one of ${GLOBAL.join(' ')}` };
    return { ...r, ...methodSettings(f[0]!) };
  }
  if (f.length >= 2 && f.length <= 3 && !isIP(f[0]!)) {
    if (!isLinkName(f[0]!)) return { error: `"${f[0]}" is not an interface name` };
    if (!ON_IFACE.includes(f[1]!)) return { error: `method "${f[1]}" is not one of ${ON_IFACE.join(' ')}` };
    if (f[2]) r.mtu = f[2];
    return { ...r, iface: f[0]!, ...methodSettings(f[1]!) };
  }
  if (f.length < 7 || f.length > 9) return { error: `has ${f.length} fields; ${FORMS}` };
  const [client, , gateway, netmask, hostname, iface, method, x, y] = f as [string, string, string, string, string, string, string, string?, string?];
  if (!STATIC.includes(method)) return { error: `method "${method}" is not one of ${STATIC.join(' ')}` };
  if (method === 'ibft') return { error: 'method ibft is not supported (si-agent reads no iBFT table): give the address, or dhcp' };
  if (iface) {
    if (!isLinkName(iface)) return { error: `"${iface}" is not an interface name` };
    r.iface = iface;
  }
  if (hostname) r.hostname = hostname;
  // After the method: [<mtu>][:<macaddr>] (the MAC was taken above), or <dns1>[:<dns2>].
  if (x !== undefined && isIP(x)) {
    r.dns.push(x);
    if (y !== undefined && y !== '' && !isIP(y)) return { error: `"${y}" is not a name server address` };
    if (y) r.dns.push(y);
  } else {
    if (y !== undefined) return { error: `has ${f.length} fields; ${FORMS}` };
    if (x) r.mtu = x;
  }
  if (method !== 'none' && method !== 'off') {
    if (client) r.notes.push(`${word}: method ${method}: the address ${client} is not set statically`);
    return { ...r, ...methodSettings(method) };
  }
  if (!client) return { error: 'method none/off needs the client address (or use dhcp)' };
  const v6 = isIPv6(client);
  if (!v6 && !isIPv4(client)) return { error: `"${client}" is not an IP address (IPv6 in [brackets])` };
  if (gateway && (v6 ? !isIPv6(gateway) : !isIPv4(gateway))) return { error: `gateway "${gateway}" is not an ${v6 ? 'IPv6' : 'IPv4'} address` };
  // An empty IPv4 netmask leaves NETMASK unset (the classful mask, with a warning); an empty IPv6 one is /64.
  const prefix = readPrefix(netmask, v6);
  if (prefix === undefined && (netmask !== '' || v6)) return { error: `netmask "${netmask}" is not ${v6 ? 'a prefix length (0-128)' : 'a netmask or prefix length (0-32)'}` };
  const fam: FamilySetting = { method: 'static', addr: client, ...(prefix !== undefined ? { prefix } : {}), ...(gateway ? { gateway } : {}) };
  return v6 ? { ...r, v6: fam } : { ...r, v4: fam };
}

/** A netmask (IPv4 dotted, contiguous) or a prefix length, as a prefix length; '' is /64 for IPv6, undefined for IPv4. */
function readPrefix(netmask: string, v6: boolean): number | undefined {
  if (netmask === '') return v6 ? 64 : undefined;
  const n = numberIn(netmask, 0, v6 ? 128 : 32);
  if (n !== undefined || v6) return n;
  if (!isIPv4(netmask)) return undefined;
  const bits = netmask.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : undefined;
}

/** A prefix length as a dotted IPv4 netmask (NETMASK is dotted). */
export function prefixToMask(prefix: number): string {
  const bits = '1'.repeat(prefix).padEnd(32, '0');
  return [0, 8, 16, 24].map((i) => parseInt(bits.slice(i, i + 8), 2)).join('.');
}
