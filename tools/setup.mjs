#!/usr/bin/env node
// First step of `npm start`, `npm test` and `npm run bench` on any machine: make sure
// the npm packages and the Debian programs the harness runs are present. Plain Node,
// no dependencies, because it runs before `npm ci` has.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function ensureNpmPackages() {
  const lock = readFileSync(join(root, 'package-lock.json'));
  const digest = createHash('sha256').update(lock).digest('hex');
  const marker = join(root, 'node_modules', '.drillbook-lock-sha256');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === digest) return;
  log('installing npm packages (npm ci)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    log('npm ci failed; see the output above.');
    process.exit(r.status ?? 1);
  }
  writeFileSync(marker, digest);
}

function onPath(bin) {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, bin)));
}

function inSearchDirs(bin, patterns) {
  for (const pattern of patterns) {
    // Only a trailing "/*/bin"-style glob is used (PostgreSQL's versioned directory).
    const [base, rest] = pattern.split('/*/');
    if (!existsSync(base)) continue;
    for (const v of readdirSync(base)) if (existsSync(join(base, v, rest, bin))) return true;
  }
  return false;
}

function missingDebianPackages() {
  const { packages } = JSON.parse(readFileSync(join(root, 'packages/stage/system-requirements.json'), 'utf8'));
  return packages.filter((p) =>
    p.binaries.some((alternatives) => !alternatives.split('|').some((b) => onPath(b) || inSearchDirs(b, p.searchDirs))),
  );
}

function ensureDebianPackages() {
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  const names = missing.map((p) => p.package);
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    const required = missing.filter((p) => !p.optional);
    log(`missing Debian packages: ${names.join(', ')}`);
    for (const p of missing) log(`  ${p.package}: ${p.for}${p.optional ? ' (optional)' : ''}`);
    log(`install them with: sudo apt-get update && sudo apt-get install -y ${names.join(' ')}`);
    if (required.length > 0) process.exit(4);
    return;
  }
  log(`installing Debian packages: ${names.join(', ')} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...names], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  const still = missingDebianPackages().filter((p) => !p.optional);
  if (still.length > 0) {
    log(`still missing after apt-get: ${still.map((p) => p.package).join(', ')}`);
    process.exit(4);
  }
}

ensureDebianPackages();
ensureNpmPackages();
