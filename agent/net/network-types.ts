// The network bring-up's options and result, apart from configure.ts so the IPv6 half can use them without a circle.

import type { Runner } from '../exec/runner.js';
import type { Reporter } from '../report/events.js';
import type { Params } from '../params/types.js';
import type { DhcpRunOptions } from './dhcp-client.js';
import type { DhcpAssignment, Lease } from './dhcp-options.js';
import type { Ipv6Result } from './ipv6-configure.js';

export interface ConfigureOptions {
  params: Params;
  run: Runner;
  report: Reporter;
  signal?: AbortSignal;
  resolvConfPath: string;
  sysClassNet?: string;
  /** Overall DHCP deadline (default 120 s). */
  dhcpTimeoutMs?: number;
  /** How long to wait for carrier after bringing links up (default 10 s). */
  carrierWaitMs?: number;
  /** IPv6 knobs for tests (DHCPv6 timers, address deadline). */
  ipv6?: { timeoutMs?: number; routeWaitMs?: number; dhcp6?: { timeScale?: number; rapidCommit?: boolean } };
  /** DHCP knobs (backoff, ports) for tests. */
  dhcp?: Partial<Pick<DhcpRunOptions, 'baseMs' | 'capMs' | 'attempts' | 'clientPort' | 'serverPort' | 'random'>>;
}

export interface NetworkResult {
  /** How IPv4 came up; 'ipv6' when IPV4_ASSIGNMENT=off (ip is then the IPv6 address). */
  mode: 'static' | 'dhcp' | 'ipv6';
  iface: string;
  ip: string;
  /** The installer's IPv6, when IPV6_ASSIGNMENT is not off. */
  ipv6?: Ipv6Result;
  /** Assignments from the lease (source "dhcp"): the layer below local.cfg and the command line. */
  dhcp: DhcpAssignment[];
  lease?: Lease;
}
