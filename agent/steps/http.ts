// HTTP(S) install: the publish tree's manifest (signature checked before any disk is written), scripts, image, overrides.

import { ParamError, SiError } from '../errors.js';
import { withRetry } from '../net/retry.js';
import { parseManifestKey, parseProxy, readCaFile } from '../params/http-values.js';
import { HttpStatusError, httpRequest, isCertificateError, readBody, type HttpSettings } from '../transport/http/client.js';
import { checkManifestTrust, findArtefact, parseManifest, type Artefact, type Manifest, type Trust } from '../transport/http/manifest.js';
import { artefactUrl, extractArtefact, type ArtefactResult } from '../transport/http/artefact.js';
import { notifyComplete } from '../transport/http/notify.js';
import { type Ctx, param } from './context.js';
import { castProgress, imageSkip } from './multicast-extras.js';

interface HttpState {
  base: URL;
  settings: HttpSettings;
  manifest: Manifest;
  trust: Trust;
}

/** True when the install comes from a publish tree over HTTP(S): HTTP_BASE is set. */
export function imageOverHttp(ctx: Ctx): boolean {
  return param(ctx, 'HTTP_BASE') !== undefined;
}

/** CA file and proxy from the parameters (HTTP_PROXY, else the HTTP_PROXY/http_proxy environment), each problem named. */
function readSettings(ctx: Ctx, env: NodeJS.ProcessEnv = process.env): HttpSettings {
  const s: HttpSettings = {};
  const ca = param(ctx, 'HTTPS_CA');
  if (ca) {
    try {
      s.ca = readCaFile(ca);
    } catch (err) {
      throw new ParamError([{ source: ctx.params.get('HTTPS_CA')!.source, key: 'HTTPS_CA', message: `"${ca}" ${(err as Error).message}` }]);
    }
  }
  const fromEnv = env.HTTP_PROXY ?? env.http_proxy;
  const proxy = param(ctx, 'HTTP_PROXY') ?? (fromEnv || undefined);
  if (proxy) {
    s.proxy = parseProxy(proxy);
    const source = param(ctx, 'HTTP_PROXY') ? ctx.params.get('HTTP_PROXY')!.source : 'environment';
    if (!s.proxy) throw new ParamError([{ source, key: 'HTTP_PROXY', message: `"${proxy}" is not a plain HTTP proxy (http://host:port)` }]);
  }
  return s;
}

/** Fetches a small file of the tree, retried; null when the server says it is not there (404, or 403 as S3 says it). */
async function fetchSmall(ctx: Ctx, url: URL, s: HttpSettings, optional: boolean): Promise<Buffer | null> {
  return withRetry(
    async () => {
      const res = await httpRequest(url, s, { signal: ctx.signal });
      const st = res.statusCode ?? 0;
      if (optional && (st === 404 || st === 403)) {
        res.resume();
        return null;
      }
      if (st !== 200) {
        res.resume();
        throw new HttpStatusError(url.href, st, st === 408 || st === 429 || st >= 500);
      }
      return readBody(res, url.href, 16 << 20);
    },
    { what: `GET ${url.href}`, report: ctx.report, signal: ctx.signal, retryIf: (e) => !(e instanceof HttpStatusError && !e.retryable) && !isCertificateError(e) },
  );
}

/** The manifest, fetched and trusted once per flow (SPEC 7 HTTP): refused before any disk is written. */
export async function httpState(ctx: Ctx): Promise<HttpState> {
  if (ctx.state.http) return ctx.state.http as HttpState;
  const baseText = param(ctx, 'HTTP_BASE')!;
  if (/^POST\s/.test(baseText)) throw new ParamError([{ source: ctx.params.get('HTTP_BASE')!.source, key: 'HTTP_BASE', message: `"${baseText}" is not a URL` }]);
  const base = new URL(baseText.endsWith('/') || new URL(baseText).search ? baseText : `${baseText}/`);
  const settings = readSettings(ctx);
  const pinText = param(ctx, 'MANIFEST_KEY');
  const pin = pinText ? parseManifestKey(pinText) : undefined;
  ctx.state.transport = 'http';
  const url = artefactUrl(base, 'manifest.json');
  const sigUrl = artefactUrl(base, 'manifest.json.sig');
  const bytes = (await fetchSmall(ctx, url, settings, false))!;
  const sig = await fetchSmall(ctx, sigUrl, settings, true);
  let manifest: Manifest;
  try {
    manifest = parseManifest(bytes, url.href);
  } catch (err) {
    // With a pinned key, a manifest that cannot be read is refused as such, whatever its signature.
    throw pin ? new SiError('E_TRANSFER', `manifest ${url.href} refused: ${(err as Error).message.replace(`manifest ${url.href} `, '')}`, { cause: err }) : err;
  }
  const trust = checkManifestTrust(bytes, sig ? sig.toString('utf8') : null, manifest, pin, url.href);
  const fp = trust.signed ? trust.fingerprint : 'unsigned';
  const via = settings.proxy ? ` through proxy ${settings.proxy.host}` : '';
  ctx.state.transportInfo = { ...ctx.state.transportInfo, transport: 'http', manifest_key: fp };
  ctx.report.emit({ type: 'transport', transport: 'http', peer: base.origin, fingerprint: trust.signed ? fp : undefined, detail: `publish tree ${base.href}${via}: ${manifest.artefacts.length} artefacts by ${manifest.tool || 'unknown tool'}, manifest ${trust.signed ? `signed by ${fp}${trust.pinned ? ' (MANIFEST_KEY)' : ''}` : 'unsigned'}` });
  if (trust.signed && !trust.pinned) ctx.report.warn(`manifest ${url.href} signed by key ${fp}, not pinned: trusted on first use (set MANIFEST_KEY=${fp} to pin it)`);
  if (!trust.signed) ctx.report.warn(`manifest ${url.href} is unsigned and MANIFEST_KEY is not set: artefacts are checked only against its own digests (sign it with si-agent publish --sign-key, pin the key with MANIFEST_KEY)`);
  const state: HttpState = { base, settings, manifest, trust };
  ctx.state.http = state;
  return state;
}

/** Streams one artefact into dest, logging what came and how. */
async function install(ctx: Ctx, st: HttpState, a: Artefact, dest: string, extra: { skip?: (rel: string) => boolean; onBytes?: (n: number) => void } = {}): Promise<ArtefactResult> {
  const r = await extractArtefact({ run: ctx.run, report: ctx.report }, { base: st.base, artefact: a, settings: st.settings, dest, report: ctx.report, signal: ctx.signal, ...extra });
  const how = [r.resumes ? `resumed ${r.resumes}x` : '', r.passes > 1 ? `${r.passes} passes (Range ignored)` : ''].filter(Boolean).join(', ');
  ctx.report.info(`http ${a.path}: ${r.bytes} bytes, ${r.entries} entries, sha256 ${r.sha256} matches the manifest${how ? ` (${how})` : ''}`);
  return r;
}

/** The scripts directory from scripts.tar.zst. */
export async function httpScripts(ctx: Ctx, dest: string): Promise<void> {
  const st = await httpState(ctx);
  const a = findArtefact(st.manifest, 'scripts', '');
  if (!a) throw new SiError('E_SERVER', `the manifest at ${st.base.href} lists no scripts.tar.zst (the scripts directory)`);
  await install(ctx, st, a, dest);
}

/** The images the manifest offers. */
export async function httpImages(ctx: Ctx): Promise<string[]> {
  return (await httpState(ctx)).manifest.artefacts.filter((a) => a.kind === 'image').map((a) => a.name);
}

/** Lays the image down as it downloads, with progress, the SPEC 7 excludes and its sha256 checked; returns its size. */
export async function httpImage(ctx: Ctx, name: string): Promise<number> {
  const st = await httpState(ctx);
  const a = findArtefact(st.manifest, 'image', name);
  if (!a) throw new SiError('E_PARAM', `image ${name} is not in the manifest at ${st.base.href}; it has: ${(await httpImages(ctx)).join(', ') || '(no images)'}`);
  const progress = castProgress(ctx, 'image', a.size);
  await install(ctx, st, a, ctx.opts.sysroot, { skip: imageSkip, onBytes: progress.update });
  progress.finish(a.size);
  ctx.state.transportInfo = { ...ctx.state.transportInfo, image_sha256: a.sha256 };
  return a.size;
}

/** Applies each override in order; one the manifest lacks is a warning, as over rsync. */
export async function httpOverrides(ctx: Ctx, names: string[]): Promise<{ applied: string[]; missing: string[] }> {
  const st = await httpState(ctx);
  const applied: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const a = findArtefact(st.manifest, 'override', name);
    if (!a) {
      ctx.report.warn(`override ${name} is not in the manifest at ${st.base.href}: skipped`);
      missing.push(name);
      continue;
    }
    await install(ctx, st, a, ctx.opts.sysroot);
    applied.push(name);
  }
  return { applied, missing };
}

/** imaging_complete over HTTP: IMAGING_COMPLETE_URL when set, else skipped with a warning. */
export async function notifyHttpComplete(ctx: Ctx, ip: string): Promise<void> {
  const template = param(ctx, 'IMAGING_COMPLETE_URL');
  if (!template) {
    ctx.report.warn('IMAGING_COMPLETE_URL is not set: over HTTP the image server is not told the install is complete (imaging_complete)');
    return;
  }
  const settings = (ctx.state.http as HttpState | undefined)?.settings ?? readSettings(ctx);
  await notifyComplete(template, { ip, hostname: param(ctx, 'HOSTNAME') ?? '', image: param(ctx, 'IMAGENAME') ?? '' }, settings, ctx.report, ctx.signal);
}
