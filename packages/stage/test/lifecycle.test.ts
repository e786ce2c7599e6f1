// The stage's lifecycle: up → healthy → down leaves nothing; a SIGKILLed caller leaves
// nothing (lifeline); a SIGKILLed host leaves children that cleanupStaleStage removes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStaleStage, runStageCommand, startStage, type Stage } from '../src/index.ts';
import { readState, type StageState } from '../src/state.ts';
import { requireBinary, EnvironmentError } from '../src/binaries.ts';
import { eventually, leftovers, tempStateDir } from './helpers.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const dirs: string[] = [];
const stages: Stage[] = [];
const fixtures: ChildProcess[] = [];

afterAll(async () => {
  for (const f of fixtures) if (f.exitCode === null) f.kill('SIGKILL');
  for (const s of stages) await s.stop().catch(() => {});
  for (const d of dirs) {
    await cleanupStaleStage(d);
    rmSync(d, { recursive: true, force: true });
  }
});

function newStateDir(): string {
  const d = tempStateDir();
  dirs.push(d);
  return d;
}

describe('stage lifecycle', () => {
  it('starts with every component healthy and stops leaving no process and no temp dir', async () => {
    const stateDir = newStateDir();
    const stage = await startStage({ stateDir });
    stages.push(stage);
    expect(stage.readyInMs).toBeGreaterThan(0);
    const state = readState(stateDir)!;
    expect(state.ready).toBe(true);
    const names = state.processes.map((p) => p.name).sort();
    expect(names).toEqual(['alertmanager', 'host', 'postgresql', 'prometheus', 'replica-1', 'replica-2']);

    const components = await stage.status();
    expect(components.filter((c) => !c.healthy)).toEqual([]);
    expect(components.map((c) => c.name)).toEqual(
      expect.arrayContaining(['host', 'balancer', 'replica-1', 'replica-2', 'proxy:db', 'postgresql', 'prometheus', 'alertmanager']),
    );
    // Every component answers on its own port; ports are distinct.
    const ports = components.filter((c) => c.kind !== 'host' && c.kind !== 'balancer').map((c) => c.port);
    expect(new Set(ports).size).toBe(ports.length);
    expect(leftovers(state).groups).toHaveLength(6);

    await stage.stop();
    expect(leftovers(state)).toEqual({ groups: [], dirs: [] });
    expect(existsSync(join(stateDir, 'stage.json'))).toBe(false);
  });

  it('stops everything through the lifeline when the calling process is SIGKILLed', async () => {
    const stateDir = newStateDir();
    const fixture = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'start-stage.ts'), stateDir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    fixtures.push(fixture);
    const line = await new Promise<string>((res, rej) => {
      createInterface({ input: fixture.stdout! }).once('line', res);
      fixture.once('exit', (code) => rej(new Error(`fixture exited with ${code} before the stage was ready`)));
    });
    const state = JSON.parse(line) as StageState;
    expect(state.ready).toBe(true);
    expect(leftovers(state).groups).toHaveLength(6);

    fixture.kill('SIGKILL');
    await eventually(() => {
      const left = leftovers(state);
      return left.groups.length === 0 && left.dirs.length === 0 && !existsSync(join(stateDir, 'stage.json'));
    }, 30_000);
    expect(await cleanupStaleStage(stateDir)).toEqual({ killed: 0, removed: [] });
  });

  it('cleanupStaleStage removes what a SIGKILLed host left behind', async () => {
    const stateDir = newStateDir();
    const stage = await startStage({ stateDir });
    stages.push(stage);
    const state = readState(stateDir)!;
    const host = state.processes.find((p) => p.name === 'host')!;
    process.kill(host.pid, 'SIGKILL');
    await eventually(() => !leftovers(state).groups.includes(`host:${host.pid}`) || undefined, 10_000);
    // The host could not clean up: its children and temp dir are still there.
    const left = leftovers(state);
    expect(left.groups.length).toBeGreaterThanOrEqual(4);
    expect(left.dirs).toHaveLength(1);

    const result = await cleanupStaleStage(stateDir);
    expect(result.killed).toBeGreaterThanOrEqual(left.groups.length);
    expect(result.removed).toEqual(left.dirs);
    expect(leftovers(state)).toEqual({ groups: [], dirs: [] });
    expect(existsSync(join(stateDir, 'stage.json'))).toBe(false);
  });

  it('drill stage up/status/down through runStageCommand', async () => {
    const stateDir = newStateDir();
    const out: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void out.push(s) };
    expect(await runStageCommand('up', { stateDir }, io)).toBe(0);
    expect(out.join('')).toMatch(/stage ready in \d+\.\d s/);
    expect(out.join('')).toMatch(/prometheus\s+http:\/\/127\.0\.0\.1:\d+/);
    const state = readState(stateDir)!;
    out.length = 0;
    expect(await runStageCommand('status', { json: true, stateDir }, io)).toBe(0);
    const status = JSON.parse(out.join('')) as { running: boolean; components: Array<{ healthy: boolean }> };
    expect(status.running).toBe(true);
    expect(status.components.every((c) => c.healthy)).toBe(true);
    expect(await runStageCommand('down', { stateDir }, io)).toBe(0);
    expect(leftovers(state)).toEqual({ groups: [], dirs: [] });
    out.length = 0;
    expect(await runStageCommand('status', { stateDir }, io)).toBe(3);
    expect(out.join('')).toContain('no stage is running');
  });

  // Bad usage (exit 2) is the harness CLI's to answer: packages/harness/test/cli/commands.test.ts.
  it('exits 4 naming the Debian package when a binary is missing', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void out.push(s) };
    expect(() => requireBinary('postgresql', 'no-such-binary-xyz')).toThrow(EnvironmentError);
    expect(() => requireBinary('postgresql', 'no-such-binary-xyz')).toThrow(/apt-get install postgresql/);

    // Prometheus is found through PATH only: without it, `up` must refuse with exit 4.
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    out.length = 0;
    try {
      expect(await runStageCommand('up', { stateDir: newStateDir() }, io)).toBe(4);
    } finally {
      process.env.PATH = path;
    }
    expect(out.join('')).toContain('apt-get install prometheus');
  });
});
