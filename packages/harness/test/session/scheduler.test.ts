// The scheduler on a fast cron: two drills, each run longer than the interval — never two
// runs of one drill at once, the ticks that found it busy reported as missed.
// The drill runs here are stand-ins that only take time (the scheduler's job is timing);
// schedule-real.test.ts runs real drills through `drill schedule`.
import { describe, expect, it } from 'vitest';
import { DrillScheduler } from '../../src/session/scheduler.ts';

describe('drill schedule', () => {
  it('runs two drills every second without overlap per drill, and reports missed runs', async () => {
    const active = new Map<string, number>();
    let maxConcurrentSameDrill = 0;
    const scheduler = new DrillScheduler(async (drill) => {
      active.set(drill, (active.get(drill) ?? 0) + 1);
      maxConcurrentSameDrill = Math.max(maxConcurrentSameDrill, active.get(drill)!);
      await new Promise((r) => setTimeout(r, 1_500));
      active.set(drill, active.get(drill)! - 1);
      return { exitCode: 0, summary: `${drill} ok` };
    });
    scheduler.add({ name: 'drills/a.ts', cron: '* * * * * *' });
    scheduler.add({ name: 'drills/b.ts', cron: '* * * * * *' });
    await new Promise((r) => setTimeout(r, 4_500));
    await scheduler.stop();
    const count = (drill: string, kind: string) => scheduler.events.filter((e) => e.drill === drill && e.kind === kind).length;
    expect(maxConcurrentSameDrill).toBe(1);
    for (const d of ['drills/a.ts', 'drills/b.ts']) {
      expect(count(d, 'finished')).toBeGreaterThanOrEqual(1);
      expect(count(d, 'missed')).toBeGreaterThanOrEqual(1);
      expect(count(d, 'started')).toBe(count(d, 'finished'));
    }
  });
  // What --emit k8s and --emit github write: test/schedule/emit.test.ts.
});
