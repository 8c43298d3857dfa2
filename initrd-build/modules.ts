// Resolves kernel module names to module files with their dependencies, from modules.dep text (pure).

export interface ModuleResolution {
  /** Module files (paths relative to /lib/modules/<ver>/), dependencies before their users. */
  files: string[];
  /** Requested names that are built into the kernel. */
  builtin: string[];
  /** Required names found neither as module nor built in. */
  missing: string[];
  /** Optional names found neither as module nor built in. */
  absentOptional: string[];
}

export interface ModuleRequest {
  name: string;
  optional?: boolean;
}

/** Canonical module name: basename without .ko[.xz|.zst|.gz], dashes as underscores. */
export function moduleNameOf(pathOrName: string): string {
  const base = pathOrName.split('/').pop() ?? pathOrName;
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** Parses modules.dep into module name -> { file, deps (files) }. */
export function parseModulesDep(text: string): Map<string, { file: string; deps: string[] }> {
  const map = new Map<string, { file: string; deps: string[] }>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const file = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    map.set(moduleNameOf(file), { file, deps });
  }
  return map;
}

/** Parses modules.builtin (or modules.builtin.modinfo-free lists) into canonical names. */
export function parseBuiltin(text: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.trim()).filter(Boolean).map(moduleNameOf));
}

/** Resolves requests to an ordered, duplicate-free list of module files, dependencies first. */
export function resolveModules(depText: string, builtinText: string, requests: readonly (string | ModuleRequest)[]): ModuleResolution {
  const deps = parseModulesDep(depText);
  const builtinSet = parseBuiltin(builtinText);
  const byFile = new Map<string, string[]>();
  for (const { file, deps: d } of deps.values()) byFile.set(file, d);

  const files: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (file: string): void => {
    if (done.has(file) || visiting.has(file)) return;
    visiting.add(file);
    // modules.dep lists the whole closure; modprobe loads it from the end, so walk it reversed.
    for (const dep of [...(byFile.get(file) ?? [])].reverse()) visit(dep);
    visiting.delete(file);
    done.add(file);
    files.push(file);
  };

  const builtin: string[] = [];
  const missing: string[] = [];
  const absentOptional: string[] = [];
  for (const req of requests) {
    const { name, optional } = typeof req === 'string' ? { name: req, optional: false } : req;
    const canon = moduleNameOf(name);
    const entry = deps.get(canon);
    if (entry) visit(entry.file);
    else if (builtinSet.has(canon)) builtin.push(canon);
    else if (optional) absentOptional.push(canon);
    else missing.push(canon);
  }
  return { files, builtin, missing, absentOptional };
}

/** Names of the modules currently loaded (from /proc/modules text), for UYOK --my-modules. */
export function parseProcModules(text: string): string[] {
  return text.split('\n').map((l) => l.split(' ')[0]).filter(Boolean).map(moduleNameOf);
}
