// Faults hit only what they name, with real processes: a commandLine that also matches the
// harness's own launcher (the `sh`/`npx` whose command line carries the drill file's name)
// hits only the marked processes; a stale pid file is refused and the process it names lives;
// the blast radius lists exactly the processes a fault would hit.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FaultSpec, HostTarget } from '../../src/define/types.ts';
import { RealClock } from '../../src/engine/clock.ts';
import type { ProviderContext } from '../../src/engine/types.ts';
import { isAlive, isStopped } from '../../src/faults/local/os-process.ts';
import { blastRadius, processProvider, type BlastRadius } from '../../src/faults/local/process.ts';
import { harnessTree } from '../../src/faults/local/process-guard.ts';
import type { LocalTarget } from '../../src/faults/local/targets.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-guard-'));
const fixture = join(__dirname, 'fixtures', 'guarded-harness.ts');
const started: number[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Looks like a drill file's name, as it appears in the launcher's command line. */
const newMarker = () => `drill-guard-${randomBytes(4).toString('hex')}.ts`;

/** Starts a process outside this process's tree (its `sh` parent exits at once), as a service on the host would be. */
function startOutside(...argv: string[]): number {
  const pid = Number(
    execFileSync('sh', ['-c', '"$@" >/dev/null 2>&1 & echo $!', 'sh', ...argv])
      .toString()
      .trim(),
  );
  started.push(pid);
  return pid;
}

/** A process that carries `marker` on its command line and does nothing. */
const markerProcess = (marker: string) => startOutside(process.execPath, '-e', 'setInterval(() => {}, 1e9)', marker);

/** An unrelated process of another (unprivileged) user: what a stale pid file may point at after pid reuse. */
const unrelated = () => startOutside('setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'sleep', '600');

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting: ${what}`);
}

interface HarnessReport {
  self: number;
  launcher: number;
  launcherAlive: boolean;
  radius?: BlastRadius;
  injected?: { targets: string[] };
  error?: string;
}

/** Runs the fixture harness under a `sh` launcher whose command line carries the marker, like `npx drill run <file>`. */
function runHarness(mode: 'radius' | 'kill', marker: string) {
  const r = spawnSync('sh', ['-c', '"$0" --import tsx "$1" "$2" "$3"; exit $?', process.execPath, fixture, mode, marker], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`harness exited ${r.status ?? r.signal}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as HarnessReport;
}

function hostCtx(host: HostTarget): { ctx: ProviderContext; target: LocalTarget } {
  const target: LocalTarget = { kind: 'host', name: 'svc', target: host };
  const ctx: ProviderContext = {
    environmentName: 'hosts',
    environment: { kind: 'hosts', targets: { svc: host } },
    clock: new RealClock(),
    signal: new AbortController().signal,
    log: () => {},
    resolveTarget: (n) => (n === 'svc' ? target : undefined),
  };
  return { ctx, target };
}

const kill: FaultSpec = { kind: 'pod-kill', target: 'svc', selection: { mode: 'all' } };
const pause: FaultSpec = { kind: 'pod-failure', target: 'svc', selection: { mode: 'all' }, duration: 60_000 };

function pidFile(pid: number): string {
  const path = join(dir, `svc-${pid}.pid`);
  writeFileSync(path, `${pid}\n`);
  return path;
}

describe('a commandLine target never hits the harness or its launchers', () => {
  it('the blast radius lists exactly the marked processes; the harness and its sh launcher are excluded, named as such', async () => {
    const marker = newMarker();
    const marked = [markerProcess(marker), markerProcess(marker)].sort((a, b) => a - b);
    await until(() => marked.every((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)), 'marker processes up');
    const out = runHarness('radius', marker);
    expect(out.error).toBeUndefined();
    const radius = out.radius!;
    expect(radius.processes.map((p) => p.pid).sort((a, b) => a - b)).toEqual(marked);
    for (const p of radius.processes) expect(p.commandLine).toContain(marker);
    expect(radius).toMatchObject({ target: 'svc', action: 'SIGKILL', hits: 2, selection: { mode: 'all' } });
    const excluded = new Map(radius.excluded.map((e) => [e.pid, e.reason]));
    expect(excluded.get(out.self)).toBe('the harness itself');
    expect(excluded.get(out.launcher)).toBe('an ancestor of the harness (its launcher)');
    // Nothing was signalled by looking.
    expect(marked.every((pid) => isAlive(pid) && !isStopped(pid))).toBe(true);
  });

  it('pod-kill on that pattern kills the marked processes only: the harness and its launcher live', async () => {
    const marker = newMarker();
    const marked = [markerProcess(marker), markerProcess(marker)];
    await until(() => marked.every((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)), 'marker processes up');
    const out = runHarness('kill', marker); // throws if the harness or its sh were killed
    expect(out.error).toBeUndefined();
    expect(out.injected!.targets).toHaveLength(2);
    expect(out.launcherAlive).toBe(true);
    await until(() => marked.every((pid) => !isAlive(pid)), 'marked processes gone');
  });

  it('a pattern that matches only the harness and its launcher is an error naming the target and why', () => {
    const out = runHarness('kill', newMarker());
    expect(out.error).toMatch(/^target 'svc': commandLine 'drill-guard-[0-9a-f]+\.ts' matches only processes a fault never hits: /);
    expect(out.error).toContain(`pid ${out.self}`);
    expect(out.error).toContain('(the harness itself)');
    expect(out.error).toContain(`pid ${out.launcher}`);
    expect(out.error).toContain('(an ancestor of the harness (its launcher))');
    expect(out.error).toMatch(/make targets\.svc\.commandLine more specific/);
    expect(out.launcherAlive).toBe(true);
  });

  it('the harness tree read from /proc holds this process, its parent and its children', () => {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(child);
    const tree = harnessTree();
    expect(tree.get(process.pid)).toBe('the harness itself');
    expect(tree.get(process.ppid)).toBe('an ancestor of the harness (its launcher)');
    expect(tree.get(child.pid!)).toBe('a process the harness started');
  });
});

describe('a pid file is believed only when the process it names is the target', () => {
  it('a stale pid file pointing at an unrelated live process (another user’s sleep) is refused; nothing is signalled', async () => {
    const victim = unrelated();
    await until(() => readFileSync(`/proc/${victim}/cmdline`, 'utf8').startsWith('sleep'), 'unrelated sleep up');
    const { ctx, target } = hostCtx({ pidFile: pidFile(victim), commandLine: newMarker() });
    for (const fault of [kill, pause]) {
      const refused = new RegExp(
        `^target 'svc': pid ${victim} from .*svc-${victim}\\.pid runs 'sleep 600', ` + "not containing 'drill-guard-[0-9a-f]+\\.ts' \\(the pid file is stale",
      );
      await expect(processProvider.prepare(fault, 'stale-1', ctx)).rejects.toThrow(refused);
      await expect(blastRadius(fault, target)).rejects.toThrow(/nothing was signalled/);
    }
    expect(isAlive(victim)).toBe(true);
    expect(isStopped(victim)).toBe(false);
  });

  it('a pid file whose pid is dead is an error, not a silent pass', async () => {
    const dead = spawnSync('true').pid!;
    const { ctx } = hostCtx({ pidFile: pidFile(dead) });
    const refused = new RegExp(`target 'svc': pid ${dead} from .* is not running \\(a stale pid file\\)`);
    await expect(processProvider.prepare(kill, 'dead-1', ctx)).rejects.toThrow(refused);
  });

  it('a pid file naming the harness itself, or a process it started, is refused', async () => {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(child);
    await expect(processProvider.prepare(kill, 'self-1', hostCtx({ pidFile: pidFile(process.pid) }).ctx)).rejects.toThrow(/is the harness itself/);
    await expect(processProvider.prepare(kill, 'own-1', hostCtx({ pidFile: pidFile(child.pid!) }).ctx)).rejects.toThrow(/is a process the harness started/);
    expect(isAlive(child.pid!)).toBe(true);
  });

  it('with listenPort: the process listening there is accepted, an unrelated one is refused and lives', async () => {
    const portFile = join(dir, 'port');
    const listen = `require('net').createServer().listen(0, '127.0.0.1', function () {
      require('fs').writeFileSync(${JSON.stringify(portFile)}, String(this.address().port));
    })`;
    const server = startOutside(process.execPath, '-e', listen);
    await until(() => existsSync(portFile) && readFileSync(portFile, 'utf8') !== '', 'server listening');
    const port = Number(readFileSync(portFile, 'utf8'));

    const ok = hostCtx({ pidFile: pidFile(server), listenPort: port });
    const radius = await blastRadius(kill, ok.target);
    expect(radius.processes.map((p) => p.pid)).toEqual([server]);
    expect(radius.hits).toBe(1);

    const victim = unrelated();
    await until(() => readFileSync(`/proc/${victim}/cmdline`, 'utf8').startsWith('sleep'), 'unrelated sleep up');
    const stale = hostCtx({ pidFile: pidFile(victim), listenPort: port });
    const refused = new RegExp(`pid ${victim} from .* \\('sleep 600'\\) does not listen on port ${port}`);
    await expect(processProvider.prepare(kill, 'port-1', stale.ctx)).rejects.toThrow(refused);
    expect(isAlive(victim)).toBe(true);

    // A pod-failure through the accepted pid file really pauses the listener, and SIGCONT brings it back.
    const record = await processProvider.prepare(pause, 'port-2', ok.ctx);
    await processProvider.inject(pause, record, ok.ctx);
    expect(isStopped(server)).toBe(true);
    await processProvider.revert(record, ok.ctx);
    expect(isStopped(server)).toBe(false);
  });
});
