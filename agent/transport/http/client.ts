// One HTTP(S) request over node:http/https: a private CA, a plain HTTP proxy (absolute-URI GET, CONNECT for https), timeouts.

import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { SiError } from '../../errors.js';

export interface HttpSettings {
  /** PEM text of CAs trusted besides Node's bundled roots (HTTPS_CA). */
  ca?: string;
  /** A plain HTTP proxy (HTTP_PROXY). */
  proxy?: URL;
  /** Connecting and waiting for the response head, and any pause in the body, longer than this fails (default 30 s). */
  timeoutMs?: number;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** An HTTP status that a retry will not change (404, 403, 401, 410, ...); 408, 429 and 5xx are worth another try. */
export class HttpStatusError extends SiError {
  constructor(readonly url: string, readonly status: number, readonly retryable: boolean) {
    super('E_TRANSFER', `${url}: HTTP ${status} ${http.STATUS_CODES[status] ?? ''}`.trimEnd());
  }
}

/** TLS failures no retry mends: an untrusted or mismatched certificate. */
export function isCertificateError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME|ERR_SSL/.test(code);
}

let roots: string[] | undefined;

/** Node's bundled roots plus the site's CA file: a private CA adds to the public ones (a CDN next to an internal server). */
function trusted(ca: string | undefined): string[] | undefined {
  if (!ca) return undefined;
  roots ??= [...tls.rootCertificates];
  return [...roots, ca];
}

/** Opens a tunnel through the proxy to host:port (CONNECT), for https through a plain HTTP proxy. */
function connectTunnel(proxy: URL, host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const req = http.request({ host: proxy.hostname, port: Number(proxy.port || 80), method: 'CONNECT', path: authority, headers: { host: authority }, signal, timeout: timeoutMs });
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(new SiError('E_TRANSFER', `proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${res.statusCode}`));
    });
    req.once('timeout', () => req.destroy(new SiError('E_TIMEOUT', `proxy ${proxy.host}: no answer to CONNECT ${authority} in ${timeoutMs / 1000} s`)));
    req.once('error', reject);
    req.end();
  });
}

/** Sends one request and resolves with the response head (the body is the caller's to read or destroy). */
export async function httpRequest(url: URL, s: HttpSettings, o: RequestOptions = {}): Promise<http.IncomingMessage> {
  const timeoutMs = s.timeoutMs ?? 30_000;
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const headers: Record<string, string> = { 'user-agent': 'si-agent', ...o.headers };
  if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
  const base = { method: o.method ?? 'GET', headers, signal: o.signal, timeout: timeoutMs, agent: false as const };
  let req: http.ClientRequest;
  if (s.proxy && !secure) {
    // A plain proxy gets the absolute URI; the Host header names the origin.
    req = http.request({ ...base, host: s.proxy.hostname, port: Number(s.proxy.port || 80), path: url.href, headers: { ...headers, host: url.host } });
  } else {
    const tunnel = s.proxy ? await connectTunnel(s.proxy, url.hostname.replace(/^\[|\]$/g, ''), port, timeoutMs, o.signal) : undefined;
    const target = { ...base, host: url.hostname.replace(/^\[|\]$/g, ''), port, path: `${url.pathname}${url.search}` };
    if (secure) {
      const servername = /^[\d.]+$|:/.test(target.host) ? undefined : target.host;
      const tlsOpts = { ca: trusted(s.ca), servername, ALPNProtocols: ['http/1.1'] };
      req = https.request({ ...target, ...tlsOpts, ...(tunnel ? { createConnection: () => tls.connect({ ...tlsOpts, socket: tunnel }) } : {}) });
    } else {
      req = http.request(target);
    }
  }
  return new Promise((resolve, reject) => {
    req.once('response', (res) => {
      // A body that stalls longer than the timeout fails the read (the caller resumes from where it stopped).
      res.socket?.setTimeout(timeoutMs, () => res.destroy(new SiError('E_TIMEOUT', `${url.href}: no data for ${timeoutMs / 1000} s`)));
      resolve(res);
    });
    req.once('timeout', () => req.destroy(new SiError('E_TIMEOUT', `${url.href}: no answer in ${timeoutMs / 1000} s`)));
    req.once('error', reject);
    req.end(o.body);
  });
}

/** Reads a whole (small) body; more than maxBytes is an error. */
export async function readBody(res: http.IncomingMessage, url: string, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > maxBytes) {
      res.destroy();
      throw new SiError('E_TRANSFER', `${url}: more than ${maxBytes} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  if (!res.complete) throw new SiError('E_TRANSFER', `${url}: the connection closed before the body was complete`);
  return Buffer.concat(parts);
}
