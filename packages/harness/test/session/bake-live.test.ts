// The bake on the real clock against the local stage, through `drill bake` as users run it:
// live load, journeys and alerts, checkpoints written as it goes. A healthy bake passes; a
// bake during which the database is stopped fails on the Sev-1 it caused.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPublicKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import type { BakeRecord } from '../../src/measure/bake.ts';
import { isBakeRecordPath } from '../../src/evidence/layout.ts';
import { repoRoot, seedProject } from '../support/seed-project.ts';

const project = seedProject('drillbook-bake-live-');
afterAll(() => project.remove());
const bin = join(repoRoot, 'packages', 'harness', 'bin', 'drill.js');

/** `drill bake` in the project; `onLine` sees every stderr line (progress) as it comes. */
function drillBake(args: string[], onLine: (line: string) => void = () => {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, 'bake', 'drills/bake-72h.ts', ...args], { cwd: project.root, env: { ...process.env, CI: 'true' } });
    let out = '';
    let err = '';
    let partial = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) onLine(l);
    });
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

function bakeRecord(release: string): BakeRecord {
  const dir = join(project.root, 'evidence-pack', `release-${release}`);
  const file = readdirSync(join(dir, 'bake'))
    .map((f) => `bake/${f}`)
    .find(isBakeRecordPath)!;
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as BakeRecord;
}

/** The control API of the stage the running bake started (its own dir under .drillbook/stage), with its bearer token. */
function runningStageControl(): { url: string; headers: Record<string, string> } | undefined {
  const parent = join(project.root, '.drillbook', 'stage');
  for (const d of existsSync(parent) ? readdirSync(parent) : []) {
    try {
      type State = { ready: boolean; urls?: { control: string }; secrets?: { controlToken: string } };
      const s = JSON.parse(readFileSync(join(parent, d, 'stage.json'), 'utf8')) as State;
      if (s.ready && s.urls && s.secrets) return { url: s.urls.control, headers: { authorization: `Bearer ${s.secrets.controlToken}` } };
    } catch {
      // not a stage dir, or not written yet
    }
  }
  return undefined;
}

const pub = () => loadPublicKey(join(project.root, '.drillbook', 'keys', 'signing.pub'));

describe('a bake on the real clock', () => {
  it('passes after 90 s of healthy live telemetry: three 30 s checkpoints with traffic, latency and a journey run; the pack verifies', async () => {
    const r = await drillBake(['--duration', '90s', '--checkpoint', '30s', '--release', 'bake-healthy']);
    expect(r.code, r.err).toBe(0);
    const bake = bakeRecord('bake-healthy');
    expect(bake.telemetry).toBe('live');
    expect(bake.checkpoints).toHaveLength(3);
    for (const c of bake.checkpoints) {
      expect(c.gap).toBe(false);
      expect(c.requests).toBeGreaterThan(30 * 20 * 0.5); // P50 alone sends 20/s
      expect(c.p95Ms).not.toBeNull();
      expect(c.sev1).toEqual([]);
    }
    expect(bake.checkpoints[0]!.synthetics.runs).toBeGreaterThanOrEqual(1);
    expect(bake.verdict).toBe('pass');
    expect(verifyPack(join(project.root, 'evidence-pack', 'release-bake-healthy'), { publicKey: pub() }).problems).toEqual([]);
    expect(readFileSync(join(project.root, 'evidence-pack', 'release-bake-healthy', 'report.html'), 'utf8')).toContain('section class="run bake"');
  }, 300_000);

  it('fails when the database is stopped mid-bake: GraphApiDatabaseDown is a Sev-1 in the window it fired in', async () => {
    let stopped: Promise<void> | undefined;
    const r = await drillBake(['--duration', '60s', '--checkpoint', '20s', '--release', 'bake-outage'], (line) => {
      if (stopped || !/checkpoint 1\/3/.test(line)) return;
      const control = runningStageControl();
      if (!control) return;
      // 25 s of outage: past the alert's 15 s rate window and its `for: 5s`.
      stopped = (async () => {
        await fetch(`${control.url}/db/stop`, { method: 'POST', headers: control.headers });
        await new Promise((res) => setTimeout(res, 25_000));
        await fetch(`${control.url}/db/start`, { method: 'POST', headers: control.headers }).catch(() => {});
      })();
    });
    await stopped;
    expect(stopped, 'the test never saw checkpoint 1 and stopped nothing').toBeDefined();
    expect(r.code, r.err).toBe(1);
    const bake = bakeRecord('bake-outage');
    expect(bake.verdict).toBe('fail');
    expect(bake.checkpoints.flatMap((c) => c.sev1)).toContain('GraphApiDatabaseDown');
    expect(bake.checks.find((c) => c.name.startsWith('Sev-1'))!.ok).toBe(false);
    expect(bake.checkpoints[0]!.sev1).toEqual([]); // before the outage
    expect(bake.checkpoints.slice(1).some((c) => c.errorRatio! > 0.5)).toBe(true);
  }, 300_000);
});
