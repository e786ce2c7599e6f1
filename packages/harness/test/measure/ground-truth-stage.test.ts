// Ground truth on the real stage (issue #7): the supervisor's restart delay makes the true
// recovery time known; the measured TTR must land within one probe interval of it.
// The truth is read independently of the drill's probes: the service's /readyz polled
// every 10 ms by a separate watcher.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '@drillbook/stage';
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { MemoryRunLog } from '../../src/engine/run-log.ts';
import { runTimelineOnStage } from '../support/stage-timeline.ts';
import { processProvider } from '../../src/faults/local/process.ts';
import type { LocalTarget } from '../../src/faults/local/targets.ts';
import { measureEpisodes } from '../../src/measure/episodes.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-truth-'));
let stage: Stage;
const RESTART_DELAY = 2_000;

beforeAll(async () => {
  stage = await startStage({ restartDelay: RESTART_DELAY, stateDir: join(dir, 'stage') });
}, 60_000);
afterAll(async () => {
  await stage?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function serviceUp(): Promise<boolean> {
  try {
    const r = await request(new URL('/readyz', stage.urls.service), { signal: AbortSignal.timeout(200) });
    await r.body.dump();
    return r.statusCode === 200;
  } catch {
    return false;
  }
}

describe('TTR against the supervisor restart delay', () => {
  // One retry: on this 2-core machine another test file runs beside this one, and a CPU
  // stall of a few hundred ms in either the probes or the truth watcher is not the
  // measurement's error. The bound itself stays at 250 ms.
  it('with 100 ms probes, measured TTR is within 250 ms of the true recovery', { retry: 1 }, async () => {
    const clock = new RealClock();
    const targets: Record<string, LocalTarget> = { api: { kind: 'stage-service', name: 'api', controlUrl: stage.urls.control, url: stage.urls.service } };
    // Kill every replica: the service is down until the first one is back.
    const drill = defineGameDay({
      name: 'truth',
      environments: ['local'],
      steadyState: [probe.http({ name: 'report', target: 'api', path: '/readyz', every: '100ms', timeout: '500ms' })],
      phases: [{ name: 'all-down', fault: fault.podKill({ target: 'api', mode: 'all' }), expect: { recoverWithin: '30s' } }],
    });
    const log = new MemoryRunLog();
    // The truth watcher: first moment a replica answers ready after the kill.
    let killedAt = 0;
    let trueRecovery = 0;
    const watcher = (async () => {
      while (!killedAt) await new Promise((r) => setTimeout(r, 5));
      while (!(await serviceUp())) await new Promise((r) => setTimeout(r, 10));
      trueRecovery = Date.now();
    })();
    log.onAppend((e) => {
      if (e.kind === 'fault.injected') killedAt = e.t;
    });
    const outcome = await runTimelineOnStage(drill.plan, {
      runId: 'truth',
      dir,
      clock,
      sink: log,
      provider: processProvider,
      targets,
      probes: { targetUrl: (t) => (targets[t]!.kind === 'stage-service' ? (targets[t] as { url: string }).url : ''), databaseUrl: () => '' },
    });
    await watcher;
    expect(outcome.status).toBe('completed');
    const [ep] = measureEpisodes(log.events, drill.plan);
    const trueTtr = trueRecovery - killedAt;
    const measured = ep!.ttr.value!;
    // The first passing probe after recovery is sent within one interval (100 ms) of it.
    expect(trueTtr).toBeGreaterThanOrEqual(RESTART_DELAY);
    expect(Math.abs(measured - trueTtr)).toBeLessThanOrEqual(250);
    console.log(`restart delay ${RESTART_DELAY} ms · true TTR ${trueTtr} ms · measured TTR ${measured} ms · impact after ${ep!.impact.value} ms`);
  });
});
