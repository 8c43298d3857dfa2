// Host and image names from the image server: the base hostname and the one rule for names that may become paths.

/**
 * Longest name accepted (a file name component on Linux is at most 255 bytes).
 * Longer names cannot name an override, script or image anyway.
 */
export const MAX_NAME_LENGTH = 255;

const SAFE_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;

/**
 * Tells whether a name from the image server may be used as one path component
 * (rsync module path, override directory, script name): letters, digits, `._+-`
 * and `_` (SystemImager's own examples use it: `web_server_image_v1`), no leading
 * dot or dash, no slash, no whitespace, no shell metacharacters, at most 255 chars.
 */
export function isSafeName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && SAFE_NAME.test(name);
}

/**
 * BASE_HOSTNAME: the hostname cut at its first digit or dot (`node017` -> `node`,
 * `web.example` -> `web`), as 4.3 BOEL's `sed 's/[.0-9].*$//'`.
 *
 * A name that starts with a digit (`10-0-0-5`) gives '' — no base hostname — as it
 * did in BOEL; callers skip empty names, so no `.sh`/`NN.x` lookup is made for it
 * (returning the whole name instead would only repeat the HOSTNAME candidate).
 */
export function baseHostname(hostname: string): string {
  const cut = hostname.search(/[.0-9]/);
  return cut < 0 ? hostname : hostname.slice(0, cut);
}

/** The short hostname: the part before the first dot (`web1.example.org` -> `web1`). */
export function shortHostname(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? name : name.slice(0, dot);
}

/** Order-preserving de-duplication (first occurrence kept), dropping empty strings. */
export function uniqueNames(names: Iterable<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const n of names) {
    if (n === '' || seen.has(n)) continue;
    seen.add(n);
    out.push(n);
  }
  return out;
}

/** Shortens a value for an error message so a 100 kB name cannot flood the console. */
export function clipForMessage(value: string, max = 80): string {
  const printable = JSON.stringify(value);
  return printable.length <= max ? printable : `${printable.slice(0, max)}…" (${value.length} chars)`;
}
