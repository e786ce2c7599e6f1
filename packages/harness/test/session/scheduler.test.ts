// The scheduler on a fast cron: two drills, each run longer than the interval — never two
// runs of one drill at once, the ticks that found it busy reported as missed.
// The drill runs here are stand-ins that only take time (the scheduler's job is timing);
// schedule-real.test.ts runs real drills through `drill schedule`.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { cronJobYaml, DrillScheduler, githubWorkflowYaml, NODE_LINE } from '../../src/session/scheduler.ts';

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

  it('emits a Kubernetes CronJob per drill and one CI workflow with the same crons', () => {
    const entries = [
      { name: 'drills/nightly.ts', cron: '0 2 * * *' },
      { name: 'drills/dr-timed-restore.ts', cron: '0 3 * * 0' },
    ];
    const jobs = parseAllDocuments(cronJobYaml(entries, { env: 'stage', image: 'registry/drillbook:1', namespace: 'drills' })).map((d) => d.toJS());
    expect(jobs.map((j) => [j.kind, j.metadata.name, j.spec.schedule, j.spec.concurrencyPolicy])).toEqual([
      ['CronJob', 'drill-nightly', '0 2 * * *', 'Forbid'],
      ['CronJob', 'drill-dr-timed-restore', '0 3 * * 0', 'Forbid'],
    ]);
    expect(jobs[0].spec.jobTemplate.spec.template.spec.containers[0].args).toEqual([
      'npx',
      'drill',
      'run',
      'drills/nightly.ts',
      '--env',
      'stage',
      '--release',
      'nightly',
    ]);
    const wf = parse(githubWorkflowYaml(entries, { env: 'stage' }));
    expect(wf.on.schedule).toEqual([{ cron: '0 2 * * *' }, { cron: '0 3 * * 0' }]);
    expect(wf.jobs.drill.strategy.matrix.drill).toEqual(['drills/nightly.ts', 'drills/dr-timed-restore.ts']);
    // CI runs the drills on the Node line npm start/npm test use here, not an end-of-life one.
    expect(NODE_LINE).toBe(24);
    expect(wf.jobs.drill.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/setup-node')).with['node-version']).toBe(NODE_LINE);
    expect(cronJobYaml(entries, { env: 'stage', image: 'registry/drillbook:1', namespace: 'drills' })).toContain(`FROM node:${NODE_LINE}`);
  });
});
