// Step: bring the network up (static from IPADDR, else DHCP), merge DHCP answers below local.cfg and the command line, ping test.

import { ParamError } from '../errors.js';
import { configureNetwork } from '../net/configure.js';
import { pingHost } from '../net/ping.js';
import { resolveParamsFromSources } from '../params/resolve.js';
import { systemPaths } from '../exec/tools.js';
import { type Step, param, setParam } from './context.js';
import { applyDeviceByMac } from './parameters.js';
import { takeEarlyNetwork, waitForNics, type EarlyNetwork } from './early-network.js';
import { resolveServerNames } from './server-names.js';

export const networkStep: Step = {
  name: 'network',
  title: 'Bringing the network up',
  async run(ctx) {
    // Brought up while the local.cfg search ran (init), when the parameters it read stayed the same.
    const early = ctx.state.earlyNetwork as EarlyNetwork | undefined;
    ctx.state.earlyNetwork = undefined;
    let result = early ? await takeEarlyNetwork(ctx, early) : undefined;
    if (!result) {
      // In the initrd the NIC drivers load in PID 1 while this worker starts.
      await waitForNics(ctx.report, param(ctx, 'DEVICE'));
      result = await configureNetwork({ params: ctx.params, run: ctx.run, report: ctx.report, signal: ctx.signal, resolvConfPath: systemPaths().resolvConf });
    }
    if (result.dhcp.length > 0) {
      // SPEC 1 step 4: DHCP answers, then local.cfg, then the command line (later wins).
      const { params, problems } = resolveParamsFromSources({ cmdlineText: ctx.opts.cmdlineText, localCfgs: ctx.state.localCfgs, dhcp: result.dhcp });
      if (problems.length > 0) throw new ParamError(problems);
      ctx.params = params;
      applyDeviceByMac(ctx, params);
    }
    ctx.state.clientIp = result.ip;
    ctx.state.clientIp6 = result.ipv6?.address;
    // IPADDR is IPv4 (the installed system's too): an IPv6-only install leaves it unset.
    if (!param(ctx, 'IPADDR') && result.mode !== 'ipv6') setParam(ctx, 'IPADDR', result.ip, result.mode === 'dhcp' ? 'dhcp' : 'network');
    if (!param(ctx, 'DEVICE')) setParam(ctx, 'DEVICE', result.iface, 'network');
    ctx.report.info(`network: ${result.iface} ${result.ip} (${result.mode})${result.ipv6 && result.mode !== 'ipv6' ? `, IPv6 ${result.ipv6.address} (${result.ipv6.mode})` : result.ipv6 ? ` (${result.ipv6.mode})` : ''}`);
    // Server names resolved once, through the name servers the network gave; the address used is logged.
    await resolveServerNames(ctx, result);
    // SPEC 1 step 5: the image server, or the gateway when the image comes by multicast (the casts need the route).
    const multicast = ctx.params.get('FLAMETHROWER_DIRECTORY_PORTBASE') !== undefined;
    const target = multicast ? (param(ctx, 'GATEWAY') ?? param(ctx, 'IMAGESERVER')) : param(ctx, 'IMAGESERVER');
    // The ping test only warns: it runs alongside the next steps instead of holding them up.
    if (target) {
      const pinging = pingHost(target, { run: ctx.run, report: ctx.report, signal: ctx.signal }).catch(() => false);
      ctx.state.drains.push(async () => void (await pinging));
    }
  },
};
