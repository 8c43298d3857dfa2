// nginx from Debian for the HTTP transport's tests and bench: an origin serving a publish tree (optionally TLS, a rate
// cap, Range off) or a caching reverse proxy, each its own master process in a namespace, its access log one line per
// request (`status bytes "range" method uri`). Started with lab.daemon, so the lab's cleanup stops it.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netns.js';

export interface NginxSite {
  name: string;
  listen: string; // address:port
  /** The publish tree to serve (origin), or the upstream to cache (proxy). */
  root?: string;
  upstream?: string;
  tls?: { cert: string; key: string };
  /** Bytes per second per connection (nginx limit_rate), e.g. '6m'. */
  limitRate?: string;
  /** nginx `max_ranges 0`: Range ignored, every answer a 200 with the whole file. */
  noRanges?: boolean;
}

export interface Nginx {
  site: NginxSite;
  prefix: string;
  start(): Promise<void>;
  /** Fast shutdown (SIGTERM to the master): open connections are dropped. */
  stop(): Promise<void>;
  /** The access log's lines, parsed. */
  requests(): Array<{ status: number; bytes: number; range: string; method: string; uri: string }>;
}

function config(s: NginxSite, prefix: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/tmp-${t};`).join('\n');
  const serve = s.upstream
    ? `    location / { proxy_pass http://${s.upstream}; proxy_cache si; proxy_cache_key $uri$is_args$args; proxy_cache_valid 200 1h; proxy_cache_lock on; proxy_cache_lock_timeout 600s; }`
    : `    root ${s.root};\n    location /done/ { return 204; }`;
  return `worker_processes 1;
user root;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 128; }
http {
  log_format si '$status $body_bytes_sent "$http_range" $request_method $request_uri';
  access_log ${prefix}/access.log si;
${temp}
  types { application/json json; application/zstd zst; }
  default_type application/octet-stream;
  sendfile on;
  ${s.upstream ? `proxy_cache_path ${prefix}/cache levels=1:2 keys_zone=si:10m max_size=2g inactive=1h use_temp_path=off;` : ''}
  server {
    listen ${s.listen}${s.tls ? ' ssl' : ''};
    ${s.tls ? `ssl_certificate ${s.tls.cert}; ssl_certificate_key ${s.tls.key};` : ''}
    ${s.limitRate ? `limit_rate ${s.limitRate};` : ''}
    ${s.noRanges ? 'max_ranges 0;' : ''}
${serve}
  }
}
`;
}

/** Writes the site's config under lab.dir and returns its handle (not started). */
export function makeNginx(lab: Lab, ns: string, site: NginxSite): Nginx {
  const prefix = join(lab.dir, `nginx-${site.name}`);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, config(site, prefix));
  execFileSync('ip', ['netns', 'exec', ns, 'nginx', '-t', '-q', '-c', conf, '-p', prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
  let child: ChildProcess | null = null;
  const [host, port] = [site.listen.replace(/:\d+$/, ''), site.listen.replace(/^.*:/, '')];
  const listening = () => execFileSync('ip', ['netns', 'exec', ns, 'ss', '-ltnH', `sport = :${port}`], { encoding: 'utf8' }).includes(host);
  return {
    site,
    prefix,
    async start() {
      child = lab.daemon(ns, `nginx-${site.name}-${Date.now()}`, ['nginx', '-c', conf, '-p', prefix, '-g', 'daemon off;']);
      for (let i = 0; i < 100 && !listening(); i++) await new Promise((r) => setTimeout(r, 50));
      if (!listening()) throw new Error(`nginx ${site.name} is not listening on ${site.listen}: ${readFileSync(join(prefix, 'error.log'), 'utf8').slice(-2000)}`);
    },
    async stop() {
      const c = child;
      child = null;
      if (!c?.pid || c.exitCode !== null) return;
      // ip netns exec runs nginx in its place (same pid): TERM is nginx's fast shutdown.
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)));
      for (let i = 0; i < 100 && listening(); i++) await new Promise((r) => setTimeout(r, 50));
    },
    requests() {
      const file = join(prefix, 'access.log');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
        const m = /^(\d+) (\d+) "([^"]*)" (\S+) (\S+)$/.exec(l);
        if (!m) throw new Error(`access log line not understood: ${l}`);
        return { status: Number(m[1]), bytes: Number(m[2]), range: m[3] === '-' ? '' : m[3]!, method: m[4]!, uri: m[5]! };
      });
    },
  };
}

/** A private CA and a server certificate for an IP address, made with openssl in dir. */
export function makeCertificates(dir: string, ip: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=si-agent test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${ip}`]);
  writeFileSync(f('ext.cnf'), `subjectAltName=IP:${ip}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  ssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}
