// Steps: find the client address, fetch the scripts module, work out who this host is and which script and image it gets.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { reverse } from 'node:dns/promises';
import { join } from 'node:path';
import { ParamError, SiError } from '../errors.js';
import { findSourceAddress } from '../net/local-address.js';
import { rsyncFetch, listModules } from '../transport/rsync/rsync.js';
import { parseHostsFile, findHostnameByIp } from '../plan/hosts.js';
import { parseClusterTxt, clusterInfoFor, formatGroupOverrides } from '../plan/cluster.js';
import { baseHostname } from '../plan/hostname.js';
import { chooseScript } from '../plan/script-choice.js';
import { resolveOverrides } from '../plan/overrides.js';
import { chooseScriptMode } from '../compat/script-mode.js';
import { readScriptVariables } from '../params/script-vars.js';
import { formatIgnoredCommands } from '../params/script-commands.js';
import { applyCheckedLayer } from '../params/resolve.js';
import { type Ctx, type Step, imageServer, param, rsyncEndpoint, setParam } from './context.js';
import { startSshTransport } from './ssh.js';
import { imageOverMulticast, isMulticast, multicastImages, multicastScripts } from './multicast.js';
import { imageOverBittorrent } from './bittorrent.js';
import { startImageSizeListing } from './image-size.js';
import { httpImages, httpScripts, imageOverHttp } from './http.js';

export const clientAddressStep: Step = {
  name: 'client-address',
  title: 'Finding the client address',
  async run(ctx) {
    const server = imageServer(ctx);
    if (ctx.state.clientIp) return;
    if (param(ctx, 'IPADDR')) {
      ctx.state.clientIp = param(ctx, 'IPADDR');
      return;
    }
    const { ip, dev } = await findSourceAddress(ctx.run, server);
    ctx.state.clientIp = ip;
    setParam(ctx, 'IPADDR', ip, 'network');
    if (dev && !param(ctx, 'DEVICE')) setParam(ctx, 'DEVICE', dev, 'network');
    ctx.report.info(`client address ${ip}${dev ? ` on ${dev}` : ''} (route to ${server})`);
  },
};

export const fetchScriptsStep: Step = {
  name: 'fetch-scripts',
  title: 'Fetching the scripts directory',
  async run(ctx) {
    const dest = join(ctx.opts.workdir, 'scripts');
    // HTTP(S): the manifest is fetched and its signature checked here, before any disk is written; then the scripts.
    if (imageOverHttp(ctx)) {
      mkdirSync(dest, { recursive: true });
      await httpScripts(ctx, dest);
      ctx.state.scriptsDir = dest;
      return;
    }
    if (imageOverMulticast(ctx)) ctx.state.transport = 'multicast';
    if (imageOverBittorrent(ctx)) ctx.state.transport = 'bittorrent';
    // The SSH transport comes up first, so a wrong key or host key fails here, before any disk is written.
    await startSshTransport(ctx);
    mkdirSync(dest, { recursive: true });
    // An IMAGENAME already known has its size listed while the scripts come (each is a daemon connection).
    startImageSizeListing(ctx);
    // Multicast: the Flamethrower directory first (SPEC 1 step 7), then the scripts from module autoinstall_scripts.
    if (isMulticast(ctx)) await multicastScripts(ctx, dest);
    else await rsyncFetch(ctx, { ...rsyncEndpoint(ctx), src: 'scripts/', dest: dest + '/', extraArgs: ['--exclude=imaging_complete_*'] });
    ctx.state.scriptsDir = dest;
  },
};

/** Reads a file of the scripts directory when present. */
function readScriptsFile(ctx: Ctx, name: string): string | undefined {
  const p = join(ctx.state.scriptsDir!, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

/** Reverse DNS of an address, first label; undefined on any failure (bounded to 5 s). */
async function reverseName(ip: string): Promise<string | undefined> {
  const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000).unref());
  const lookup = reverse(ip).then((names) => names[0]?.split('.')[0], () => undefined);
  return await Promise.race([lookup, timeout]);
}

export const identifyStep: Step = {
  name: 'identify',
  title: 'Finding host name, groups and image',
  async run(ctx) {
    const ip = ctx.state.clientIp ?? param(ctx, 'IPADDR');
    const given = ctx.params.get('HOSTNAME');
    if (!given?.value || given.source === 'dhcp') {
      const hostsText = readScriptsFile(ctx, 'hosts');
      const fromHosts = hostsText && ip ? findHostnameByIp(parseHostsFile(hostsText, 'scripts/hosts').entries, ip) : undefined;
      if (fromHosts) setParam(ctx, 'HOSTNAME', fromHosts, 'scripts/hosts');
      else {
        const fromDns = ip ? await reverseName(ip) : undefined;
        if (fromDns) setParam(ctx, 'HOSTNAME', fromDns, 'reverse-dns');
      }
    }
    const hostname = param(ctx, 'HOSTNAME');
    if (hostname) setParam(ctx, 'BASE_HOSTNAME', baseHostname(hostname), 'derived');
    const clusterText = readScriptsFile(ctx, 'cluster.txt');
    if (clusterText && hostname) {
      const info = clusterInfoFor(parseClusterTxt(clusterText, 'scripts/cluster.txt'), hostname);
      ctx.state.groups = info.groupNames;
      ctx.state.groupOverrides = info.groupOverrides;
      ctx.state.globalOverrides = info.globalOverrides;
      if (info.groupNames.length) setParam(ctx, 'GROUPNAMES', info.groupNames.join(' '), 'scripts/cluster.txt');
      for (const p of info.problems) ctx.report.warn(`${p.source} ${p.key}: ${p.message}`);
      const groupOverrides = formatGroupOverrides(info);
      if (groupOverrides) setParam(ctx, 'GROUP_OVERRIDES', groupOverrides, 'scripts/cluster.txt');
      if (info.imageName && !param(ctx, 'IMAGENAME')) setParam(ctx, 'IMAGENAME', info.imageName, 'scripts/cluster.txt');
    }
    startImageSizeListing(ctx);
    ctx.report.info(`host ${hostname ?? '(unknown)'}, groups: ${ctx.state.groups.join(' ') || '(none)'}, image: ${param(ctx, 'IMAGENAME') ?? '(from script)'}`);
  },
};

export const chooseScriptStep: Step = {
  name: 'choose-script',
  title: 'Choosing the autoinstall script',
  async run(ctx) {
    const dir = ctx.state.scriptsDir!;
    // A mistyped IMAGENAME is told as such, with the images on offer, rather than as a missing script.
    const imageBefore = param(ctx, 'IMAGENAME');
    if (imageBefore) await checkImageOffered(ctx);
    const { name, tried } = chooseScript(
      { scriptName: param(ctx, 'SCRIPTNAME'), hostname: param(ctx, 'HOSTNAME'), groups: ctx.state.groups, baseHostname: param(ctx, 'BASE_HOSTNAME'), imageName: param(ctx, 'IMAGENAME') },
      (n) => existsSync(join(dir, n)),
    );
    ctx.report.info(`autoinstall script ${name} (tried ${tried.join(', ')})`);
    const { assignments, warnings, master, commands } = readScriptVariables(readFileSync(join(dir, name), 'utf8'), name, ctx.params);
    const choice = chooseScriptMode(param(ctx, 'SCRIPT_MODE'), master, name);
    ctx.state.scriptFile = name;
    ctx.state.scriptMode = choice.mode;
    ctx.state.scriptModeReason = choice.reason;
    ctx.report.info(`script mode ${choice.mode}: ${choice.reason}`);
    if (choice.mode === 'run') refuseRunOutsideInitrd(ctx, name);
    for (const w of warnings) ctx.report.warn(w);
    // Read mode on a 4.3 master: its own install (and the site's hand edits in it) will not run; say so once.
    if (master && choice.mode === 'read') ctx.report.warn(formatIgnoredCommands(name, commands));
    const checked = applyCheckedLayer(ctx.params, assignments);
    if (checked.problems.length > 0) throw new ParamError(checked.problems);
    ctx.params = checked.params;
    const base = name.replace(/\.(sh|master)$/, '');
    ctx.state.scriptName = base;
    if (!param(ctx, 'IMAGENAME')) throw new SiError('E_SCRIPT', `no image name: script ${name} does not set IMAGENAME and neither do the parameters nor cluster.txt`);
    if (param(ctx, 'IMAGENAME') !== imageBefore) await checkImageOffered(ctx);
    const given = param(ctx, 'OVERRIDES');
    ctx.state.overrides = resolveOverrides({
      scriptOverrides: given ? given.split(/\s+/).filter(Boolean) : undefined,
      scriptName: base,
      groupOverrides: ctx.state.groupOverrides,
      globalOverrides: ctx.state.globalOverrides,
      hostname: param(ctx, 'HOSTNAME'),
    });
    startImageSizeListing(ctx);
    ctx.report.info(`image ${param(ctx, 'IMAGENAME')}, overrides: ${ctx.state.overrides.join(' ') || '(none)'}`);
  },
};

/**
 * Run mode writes what the master says: it stops every md array it sees and partitions disks by name (/dev/sda), so
 * outside the initrd nothing keeps it to the --disk disks. `install` refuses; `plan` only says what would run.
 */
function refuseRunOutsideInitrd(ctx: Ctx, name: string): void {
  if (ctx.opts.mode !== 'install') return;
  const source = ctx.params.get('SCRIPT_MODE')?.source ?? 'default';
  throw new SiError(
    'E_PARAM',
    `${name} would run as the install (SCRIPT_MODE=${param(ctx, 'SCRIPT_MODE') ?? 'auto'}, ${source}), which si-agent does only in the installer's initrd: ` +
      'a 4.3 master stops every md array it sees and writes the disks it names (/dev/sda, ...), and outside the initrd nothing keeps it to the --disk disks. ' +
      'Boot the installer to run it, or give SCRIPT_MODE=read (si.script-mode=read) to install from the layout file with only the script\'s variables',
  );
}

/** Modules of a SystemImager server that are not images. */
const NON_IMAGE_MODULES = new Set(['scripts', 'overrides', 'torrents', 'boot']);

/** Refuses, before any disk is touched, an IMAGENAME the image server does not offer; the error lists the images it has. */
async function checkImageOffered(ctx: Ctx): Promise<void> {
  const image = param(ctx, 'IMAGENAME')!;
  let modules: string[];
  try {
    if (imageOverHttp(ctx)) {
      const images = await httpImages(ctx);
      if (images.includes(image)) return;
      throw new SiError('E_PARAM', `${ctx.params.get('IMAGENAME')?.source ?? 'unknown'} IMAGENAME: "${image}" is not in the publish manifest at ${param(ctx, 'HTTP_BASE')}; it has: ${images.join(', ') || '(no images)'}`);
    }
    if (imageOverMulticast(ctx)) {
      // The images a multicast install can have are the ones the Flamethrower directory casts.
      const images = await multicastImages(ctx);
      if (images.includes(image)) return;
      throw new SiError('E_PARAM', `${ctx.params.get('IMAGENAME')?.source ?? 'unknown'} IMAGENAME: "${image}" is not cast by the Flamethrower directory; it casts: ${images.join(', ') || '(no images)'}`);
    }
    const { server, port } = rsyncEndpoint(ctx);
    modules = await listModules(ctx, server, port);
  } catch (err) {
    if (err instanceof SiError && err.code === 'E_PARAM') throw err;
    ctx.report.warn(`cannot list the image server's modules, IMAGENAME not checked: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  if (modules.includes(image)) return;
  const images = modules.filter((m) => !NON_IMAGE_MODULES.has(m));
  const source = ctx.params.get('IMAGENAME')?.source ?? 'unknown';
  throw new SiError('E_PARAM', `${source} IMAGENAME: "${image}" is not an image on ${imageServer(ctx)}; it offers: ${images.join(', ') || '(no images)'}`);
}
