import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineBake } from '../../src/define/bake.ts';
import { VirtualClock } from '../../src/engine/clock.ts';
import { runBake, simulatedTelemetry } from '../../src/session/bake.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-bake-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const slo = { kind: 'slo' as const, name: 'availability', id: 'graph-api:availability', objective: 0.999, period: 30 * 86_400_000 };

describe('the 72-hour bake on the virtual clock', () => {
  it('writes 72 hourly checkpoints and passes on healthy simulated telemetry', async () => {
    const clock = new VirtualClock();
    const plan = defineBake({ name: 'bake-72h', environments: ['local'], duration: '72h', checkpoint: '1h', verdict: { sev1: 0, slos: [slo as never] } });
    const start = clock.now();
    const t0 = performance.now();
    const r = await runBake(plan, {
      packDir: join(dir, 'ok'),
      clock,
      telemetry: simulatedTelemetry({ requestsPerSecond: 50, errorRatio: 0.0002, p50Ms: 20, p95Ms: 80, startedAt: () => start }),
    });
    const wall = performance.now() - t0;
    console.log(`72 h bake on the virtual clock: ${wall.toFixed(0)} ms wall, peak RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
    expect(r.checkpoints).toHaveLength(72);
    expect(readdirSync(join(dir, 'ok', 'bake', 'checkpoints'))).toHaveLength(72);
    expect(clock.now() - start).toBe(72 * 3_600_000);
    expect(r.verdict.verdict).toBe('pass');
    // 0.02 % errors against a 0.1 % budget for 72 h of a 30-day period: 1.6 % of the budget spent.
    expect(r.verdict.budgetLeft['graph-api:availability']).toBeCloseTo(1 - (0.2 * 72) / 720, 6);
  });

  it('fails on a Sev-1 and names the window out of objective', async () => {
    const clock = new VirtualClock();
    const plan = defineBake({ name: 'bake-bad', environments: ['local'], duration: '6h', checkpoint: '1h', verdict: { sev1: 0, slos: [slo as never] } });
    const start = clock.now();
    const r = await runBake(plan, {
      packDir: join(dir, 'bad'),
      clock,
      telemetry: simulatedTelemetry({ requestsPerSecond: 50, errorRatio: 0, p50Ms: 20, p95Ms: 80, sev1AtHours: [3], startedAt: () => start }),
    });
    expect(r.verdict.verdict).toBe('fail');
    expect(r.verdict.checks[0]).toMatchObject({ ok: false, detail: '1 critical alert firing(s)' });
  });
});

describe('resume after a crash', () => {
  function child(packDir: string, mode: string, killAfter?: number) {
    return new Promise<{ out: string; killed: boolean }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'bake-child.ts'), packDir, mode], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      let killed = false;
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (killAfter !== undefined && !killed && out.includes(`CHECKPOINT ${killAfter}`)) {
          killed = true;
          p.kill('SIGKILL');
        }
      });
      p.on('exit', () => resolve({ out, killed }));
    });
  }

  it('a bake SIGKILLed after its first checkpoint resumes and loses at most one interval', async () => {
    const pack = join(dir, 'resume');
    const first = await child(pack, 'fresh', 0);
    expect(first.killed).toBe(true);
    const second = await child(pack, 'resume');
    const done = JSON.parse(/DONE (.*)/.exec(second.out)![1]!) as { resumedFrom: number; gaps: number; checkpoints: number; requests: number[] };
    expect(done.resumedFrom).toBe(1);
    expect(done.checkpoints).toBe(4);
    expect(done.gaps).toBe(0);
    // Only the window in progress at the crash is short of data; every other is whole (100 req/s × 3 s).
    expect(done.requests.filter((n) => n < 300).length).toBeLessThanOrEqual(1);
  });
});

describe('live bake windows', () => {
  it('sum the load samples, weight percentiles by traffic, count critical alerts and journey runs in the window', async () => {
    const { windowFromLog } = await import('../../src/measure/bake.ts');
    const w = windowFromLog(
      [
        { t: 1_000, kind: 'load.sample', requests: 100, failures: 1, p50Ms: 10, p95Ms: 50, p99Ms: 90, dropped: 0, vus: 3 },
        { t: 2_000, kind: 'load.sample', requests: 300, failures: 0, p50Ms: 20, p95Ms: 90, p99Ms: 120, dropped: 0, vus: 3 },
        { t: 2_500, kind: 'alert', alert: 'GraphApiDatabaseDown', state: 'firing', source: 'prometheus', labels: { severity: 'critical' } },
        { t: 2_600, kind: 'alert', alert: 'GraphApiReplicaDown', state: 'firing', source: 'prometheus', labels: { severity: 'warning' } },
        { t: 2_700, kind: 'step', name: 'journey', detail: { ok: false } },
        { t: 9_000, kind: 'load.sample', requests: 999, failures: 999, p50Ms: 1, p95Ms: 1, p99Ms: 1, dropped: 0, vus: 1 },
      ],
      0,
      5_000,
    );
    expect(w).toEqual({ requests: 400, errors: 1, p50Ms: 17.5, p95Ms: 80, sev1: ['GraphApiDatabaseDown'], synthetics: { runs: 1, failed: 1 } });
  });
});
