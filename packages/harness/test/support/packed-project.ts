// A team's project with the packed @drillbook packages installed from their tarballs, as
// `npm install` would give it, without a network: `npm pack` both packages, then `npm ci
// --offline` from a lock derived from this repository's own (same versions, same integrity
// hashes, every tarball already in npm's cache since this repository's `npm ci`).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DrillRunner } from './own-service.ts';

const repo = resolve(__dirname, '../../../..');
const PACKAGES = { '@drillbook/stage': 'packages/stage', '@drillbook/harness': 'packages/harness' } as const;

interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  link?: boolean;
  dev?: boolean;
  [k: string]: unknown;
}

/** `npm pack` of both packages into `into`; the tarball of each, by package name. */
export function packPackages(into: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, dir] of Object.entries(PACKAGES)) {
    const json = execFileSync('npm', ['pack', '--json', '--pack-destination', into], { cwd: join(repo, dir), stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    out[name] = join(into, (JSON.parse(json) as Array<{ filename: string }>)[0]!.filename);
  }
  return out;
}

/** The lock a project depending on the tarballs would get: the repository's production entries, the workspaces replaced by their tarballs. */
export function lockForTarballs(rootLock: { packages: Record<string, LockEntry> }, tarballs: Record<string, string>) {
  const dependencies = Object.fromEntries(Object.entries(tarballs).map(([n, t]) => [n, `file:${t}`]));
  const packages: Record<string, LockEntry> = { '': { name: 'team-project', version: '1.0.0', dependencies } };
  for (const [key, entry] of Object.entries(rootLock.packages)) {
    if (key === '' || entry.link || entry.dev) continue;
    const workspace = Object.entries(PACKAGES).find(([, dir]) => key === dir);
    if (workspace) {
      const { name: _name, ...rest } = entry;
      packages[`node_modules/${workspace[0]}`] = { ...rest, resolved: `file:${tarballs[workspace[0]]}` };
      continue;
    }
    const nested = /^packages\/(harness|stage)\/node_modules\/(.*)$/.exec(key);
    packages[nested ? `node_modules/@drillbook/${nested[1]}/node_modules/${nested[2]}` : key] = entry;
  }
  return { name: 'team-project', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

/** Installs the packed packages into `dir` (a project of `"type": "commonjs"`, as `npm init -y` writes). */
export function installPacked(dir: string, tarballDir: string): void {
  const tarballs = packPackages(tarballDir);
  const lock = lockForTarballs(JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')), tarballs);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'team-project', version: '1.0.0', type: 'commonjs', dependencies: lock.packages['']!.dependencies }, null, 2),
  );
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  execFileSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The installed `drill` bin, run as a child of this Node in `dir`. */
export function installedDrill(dir: string): DrillRunner {
  const bin = join(dir, 'node_modules', '@drillbook', 'harness', 'bin', 'drill.js');
  return (...argv) =>
    new Promise((done, fail) => {
      const child = spawn(process.execPath, [bin, ...argv], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code: code ?? 1, out, err }));
    });
}
