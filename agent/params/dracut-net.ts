// dracut's network words on the kernel command line (ip=, vlan=, bond=, ifname=, nameserver=) as flat parameters.
//
// Each assignment's source names the word it came from (`cmdline ip=eth0:dhcp`), so plan --json and every error say
// which word to fix. These assignments come before the command line's own NAME=value words: IPADDR=, DEVICE=, MTU=...
// written out win over what a dracut word implies.

import type { Problem } from '../errors.js';
import type { Assignment } from './types.js';
import { parseIpWord, prefixToMask, type IpWord } from './dracut-ip.js';
import { isLinkName, isMac, vlanNameParts } from './net-values.js';
import { shortenLine } from './local-cfg.js';
import { isIP } from 'node:net';

/** True for the words read here: ip=, vlan=, bond=, ifname=, nameserver= and a bare `bond`. */
export function isDracutNetWord(word: string): boolean {
  return word === 'bond' || /^(ip|vlan|bond|ifname|nameserver)=/.test(word);
}

const SLAVE = '(?:[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[^:,]+)';
const BOND = new RegExp(`^([^:]*)(?::(${SLAVE}(?:,${SLAVE})*)?)?(?::([^:]*))?(?::([^:]*))?$`, 'i');

/** Reads every dracut network word of one command line; conflicts between them are problems naming both words. */
export function parseDracutNetWords(words: readonly string[], base = 'cmdline'): { assignments: Assignment[]; problems: Problem[]; notes: string[] } {
  const out: Assignment[] = [];
  const problems: Problem[] = [];
  const notes: string[] = [];
  const problem = (word: string, message: string) => problems.push({ source: base, key: shortenLine(word), message });
  const set = (name: string, value: string, word: string) => out.push({ name, value, source: `${base} ${word}` });
  const once = new Map<string, string>(); // kind of word -> first such word
  const onlyOne = (kind: string, word: string): boolean => {
    const first = once.get(kind);
    if (first !== undefined && first !== word) problem(word, `conflicts with ${first}: si-agent sets up one ${kind}`);
    once.set(kind, first ?? word);
    return first === undefined;
  };
  const ips: IpWord[] = [];
  const dns: string[] = [];
  const dnsWords: string[] = [];
  const ifnames: string[] = [];
  const ifnameWords: string[] = [];
  const mtus: { mtu: string; word: string }[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? '' : word.slice(eq + 1);
    if (key === 'ip') {
      const r = parseIpWord(value);
      if ('error' in r) problem(word, r.error);
      else ips.push(r);
    } else if (key === 'vlan') {
      const [name, parent, extra] = value.split(':');
      const parts = name ? vlanNameParts(name) : undefined;
      if (extra !== undefined || !name || !parent) problem(word, 'is not vlan=<name>:<parent>');
      else if (!isLinkName(name)) problem(word, `"${name}" is not an interface name`);
      else if (!parts) problem(word, `cannot tell the VLAN id from the name "${name}" (dracut's names: vlan0042, vlan42, eth0.0042, eth0.42)`);
      else if (!isLinkName(parent)) problem(word, `parent "${parent}" is not a link or bond name`);
      else if (parts.parent !== undefined && parts.parent !== parent) problem(word, `the name ${name} says its parent is ${parts.parent}, not ${parent}`);
      else if (onlyOne('VLAN', word)) {
        set('VLAN_NAME', name, word);
        set('VLAN_ID', String(parts.id), word);
        set('VLAN_PARENT', parent, word);
      }
    } else if (key === 'bond') {
      const m = BOND.exec(value);
      if (!m) problem(word, 'is not bond=<name>[:<slaves>[:<options>[:<mtu>]]]');
      else if (m[1] && !isLinkName(m[1])) problem(word, `"${m[1]}" is not an interface name`);
      else if (onlyOne('bond', word)) {
        // dracut's defaults: bond0 over eth0 and eth1.
        set('BOND_NAME', m[1] || 'bond0', word);
        set('BOND_SLAVES', m[2] || 'eth0,eth1', word);
        if (m[3]) set('BOND_OPTS', m[3], word);
        if (m[4]) mtus.push({ mtu: m[4], word });
      }
    } else if (key === 'ifname') {
      const i = value.indexOf(':');
      const [name, mac] = i < 0 ? [value, ''] : [value.slice(0, i), value.slice(i + 1)];
      if (!isLinkName(name) || !isMac(mac)) problem(word, 'is not ifname=<name>:<MAC address>');
      else {
        ifnames.push(`${name}=${mac.toLowerCase()}`);
        ifnameWords.push(word);
      }
    } else if (key === 'nameserver') {
      const addr = value.replace(/^\[(.*)\]$/, '$1');
      if (!isIP(addr)) problem(word, `"${value}" is not an IP address`);
      else {
        dns.push(addr);
        dnsWords.push(word);
      }
    }
  }
  const ip = combineIpWords(ips, base, problem, notes);
  out.push(...ip.assignments);
  for (const w of ips) {
    dns.push(...w.dns);
    if (w.dns.length > 0) dnsWords.push(w.word);
    if (w.mtu !== undefined) mtus.push({ mtu: w.mtu, word: w.word });
  }
  for (const m of mtus.slice(1)) if (m.mtu !== mtus[0]!.mtu) problem(m.word, `MTU ${m.mtu} conflicts with ${mtus[0]!.mtu} from ${mtus[0]!.word}`);
  if (mtus.length > 0) set('MTU', mtus[0]!.mtu, mtus[0]!.word);
  if (dns.length > 0) set('DNS_SERVERS', dns.join(' '), dnsWords.join(' '));
  if (ifnames.length > 0) set('IFNAMES', ifnames.join(' '), ifnameWords.join(' '));
  return { assignments: out, problems, notes };
}

type Fam = 'v4' | 'v6';

/** The flat parameters of all ip= words together: one setting per family, one install interface. */
function combineIpWords(ips: IpWord[], base: string, problem: (word: string, message: string) => void, notes: string[]): { assignments: Assignment[] } {
  const out: Assignment[] = [];
  const set = (name: string, value: string, w: IpWord) => out.push({ name, value, source: `${base} ${w.word}` });
  for (const w of ips) notes.push(...w.notes);
  const chosen: Partial<Record<Fam, IpWord>> = {};
  for (const fam of ['v4', 'v6'] as const) {
    for (const w of ips.filter((x) => x[fam])) {
      const first = chosen[fam];
      if (!first) chosen[fam] = w;
      // Two words for one family clash on one interface, with a global word, or when either is static.
      else if (first.iface === w.iface || !first.iface || !w.iface || first[fam]!.method === 'static' || w[fam]!.method === 'static') {
        problem(w.word, `conflicts with ${first.word} (${fam === 'v4' ? 'IPv4' : 'IPv6'} set twice)`);
      } else if (w[fam]!.method === 'off') {
        // ip=eth1:off beside ip=eth0:dhcp: eth1 is left alone.
      } else if (first[fam]!.method === 'off') chosen[fam] = w;
      else if (first[fam]!.method !== w[fam]!.method) problem(w.word, `conflicts with ${first.word}: ${w[fam]!.method} and ${first[fam]!.method} on different interfaces`);
    }
  }
  const named = [...new Set(ips.filter((w) => w.iface && (w.v4?.method !== 'off' || w.v6?.method !== 'off')).map((w) => w.iface!))];
  if (named.length === 1) set('DEVICE', named[0]!, ips.find((w) => w.iface === named[0])!);
  else if (named.length > 1) {
    const st = ips.find((w) => w.v4?.method === 'static' || w.v6?.method === 'static');
    if (st) problem(st.word, `names a static address while ip= words name interfaces ${named.join(', ')}: the install runs over one`);
    else notes.push(`ip= words name ${named.join(', ')}: DHCP runs on every link with carrier, the first lease wins`);
  }
  const v4 = chosen.v4;
  if (v4?.v4) {
    set('IPV4_ASSIGNMENT', v4.v4.method, v4);
    if (v4.v4.addr) set('IPADDR', v4.v4.addr, v4);
    if (v4.v4.prefix !== undefined) set('NETMASK', prefixToMask(v4.v4.prefix), v4);
    if (v4.v4.gateway) set('GATEWAY', v4.v4.gateway, v4);
  } else if (chosen.v6) set('IPV4_ASSIGNMENT', 'off', chosen.v6); // dracut: ip=dhcp6, ip=auto6, ip=[v6]... is IPv6 only
  const v6 = chosen.v6;
  if (v6?.v6) {
    set('IPV6_ASSIGNMENT', v6.v6.method, v6);
    if (v6.v6.addr) set('IPV6ADDR', `${v6.v6.addr}/${v6.v6.prefix ?? 64}`, v6);
    if (v6.v6.gateway) set('IPV6_GATEWAY', v6.v6.gateway, v6);
  }
  const hosts = ips.filter((w) => w.hostname);
  for (const h of hosts.slice(1)) if (h.hostname !== hosts[0]!.hostname) problem(h.word, `host name ${h.hostname} conflicts with ${hosts[0]!.hostname} from ${hosts[0]!.word}`);
  if (hosts[0]) set('HOSTNAME', hosts[0].hostname!, hosts[0]);
  return { assignments: out };
}
