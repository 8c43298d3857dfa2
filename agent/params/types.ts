// Parameter values tagged with where they came from.

/**
 * Where a value came from. Strings, so they print as they are:
 * "default", "cmdline", "local.cfg:<file>:<line>", "dhcp", "script:<name>:<line>", "pre-install:<file>:<line>".
 */
export type Source = string;

export interface Tagged {
  value: string;
  source: Source;
}

/** Canonical (SystemImager 4.3) parameter name -> tagged value. */
export type Params = Map<string, Tagged>;

/** One assignment read from some source, before merging. */
export interface Assignment {
  name: string; // canonical name (aliases already mapped)
  value: string;
  source: Source;
}
