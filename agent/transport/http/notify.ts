// imaging_complete over HTTP: one request to the site's IMAGING_COMPLETE_URL with {ip}, {hostname} and {image} filled in.

import { SiError } from '../../errors.js';
import { withRetry } from '../../net/retry.js';
import type { Reporter } from '../../report/events.js';
import { httpRequest, type HttpSettings } from './client.js';

/** The request a IMAGING_COMPLETE_URL value asks for: GET, or POST when it starts with `POST `; placeholders URL-encoded. */
export function completionRequest(template: string, values: Record<string, string>): { method: 'GET' | 'POST'; url: URL } {
  const post = /^POST\s+/.exec(template);
  const text = template.slice(post ? post[0].length : 0).replace(/\{(ip|hostname|image)\}/g, (_, k: string) => encodeURIComponent(values[k] ?? ''));
  return { method: post ? 'POST' : 'GET', url: new URL(text) };
}

/** Tells the site the install is done; never throws (a failure is a warning, as imaging_complete over rsync is). */
export async function notifyComplete(template: string, values: Record<string, string>, s: HttpSettings, report: Reporter, signal?: AbortSignal): Promise<void> {
  const { method, url } = completionRequest(template, values);
  try {
    const status = await withRetry(
      async () => {
        const res = await httpRequest(url, { ...s, timeoutMs: 10_000 }, { method, signal, body: method === 'POST' ? new URLSearchParams(values).toString() : undefined, headers: method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {} });
        res.resume();
        const st = res.statusCode ?? 0;
        if (st >= 500) throw new SiError('E_TRANSFER', `HTTP ${st}`);
        return st;
      },
      { what: `${method} ${url.href}`, attempts: 3, report, signal },
    );
    if (status >= 200 && status < 400) report.info(`imaging complete: ${method} ${url.href} answered ${status}`);
    else report.warn(`imaging complete: ${method} ${url.href} answered HTTP ${status}`);
  } catch (err) {
    report.warn(`imaging complete: ${method} ${url.href} failed: ${(err as Error).message.split('\n')[0]}`);
  }
}
