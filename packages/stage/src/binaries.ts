// Finds the Debian programs the stage runs, from system-requirements.json, and names the
// package to install when one is missing (so `drill stage up` can say exactly what to do).
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Carries exit code 4 like the harness's EnvironmentError (the CLI reads `exitCode`, not the class). */
export class EnvironmentError extends Error {
  readonly exitCode = 4;
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

interface Requirement {
  package: string;
  binaries: string[];
  searchDirs: string[];
  for: string;
  optional?: boolean;
}

const requirementsFile = join(dirname(fileURLToPath(import.meta.url)), '..', 'system-requirements.json');

export function loadRequirements(): Requirement[] {
  return (JSON.parse(readFileSync(requirementsFile, 'utf8')) as { packages: Requirement[] }).packages;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Expands one trailing-glob segment like /usr/lib/postgresql/*\/bin, newest version first. */
function expandDir(pattern: string): string[] {
  const star = pattern.indexOf('*');
  if (star < 0) return [pattern];
  const base = pattern.slice(0, star).replace(/\/$/, '');
  const rest = pattern.slice(star + 1);
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  return names.sort((a, b) => b.localeCompare(a, undefined, { numeric: true })).map((n) => join(base, n) + rest);
}

/** Absolute path of `name` (alternatives separated by `|`), or undefined. */
export function findBinary(name: string, searchDirs: string[] = []): string | undefined {
  const dirs = [...searchDirs.flatMap(expandDir), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin'];
  for (const alt of name.split('|')) {
    for (const dir of dirs) {
      const p = join(dir, alt);
      if (executable(p)) return p;
    }
  }
  return undefined;
}

/** Resolves `binary` of `pkg` or throws EnvironmentError naming the Debian package. */
export function requireBinary(pkg: string, binary: string): string {
  const req = loadRequirements().find((r) => r.package === pkg);
  if (!req) throw new Error(`system-requirements.json has no package '${pkg}'`);
  const found = findBinary(binary, req.searchDirs);
  if (!found) {
    throw new EnvironmentError(`${binary.split('|').join(' or ')} was not found (needed for ${req.for}); install it with: apt-get install ${req.package}`);
  }
  return found;
}

export interface StageBinaries {
  pgBin: string;
  initdb: string;
  postgres: string;
  prometheus: string;
  /** Writes the synthetic history's blocks. */
  promtool: string;
  alertmanager: string;
}

/** Every program the stage itself starts; throws on the first missing one. */
export function stageBinaries(): StageBinaries {
  const initdb = requireBinary('postgresql', 'initdb');
  const postgres = requireBinary('postgresql', 'postgres');
  return {
    pgBin: dirname(postgres),
    initdb,
    postgres,
    prometheus: requireBinary('prometheus', 'prometheus'),
    promtool: requireBinary('prometheus', 'promtool'),
    alertmanager: requireBinary('prometheus-alertmanager', 'prometheus-alertmanager|alertmanager'),
  };
}
