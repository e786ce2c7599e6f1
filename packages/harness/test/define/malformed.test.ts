// Bad definitions fail before anything runs, naming the field and the fix.
import { describe, expect, it } from 'vitest';
import {
  defineConfig,
  defineDrill,
  defineGameDay,
  fault,
  probe,
  resolveEnvironment,
  stop,
  DefinitionError,
  type GameDayInput,
} from '../../src/define/index.ts';
import type { SloRef } from '../../src/define/types.ts';

const slo: SloRef = { kind: 'slo', name: 'availability', id: 'graph-api:availability' };
const ready = probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' });

/** A valid game-day; each case breaks one thing. */
function base(): GameDayInput {
  return {
    name: 'nightly',
    title: 'Nightly chaos',
    environments: ['local'],
    steadyState: [ready],
    stopWhen: [stop.errorRatio({ above: 0.2, for: 3 })],
    phases: [
      { name: 'warm-up', duration: '1m' },
      { name: 'replica-loss', fault: fault.podKill({ target: 'api', mode: 'one' }), expect: { alerts: ['GraphApiReplicaDown'], recoverWithin: '60s' } },
    ],
  };
}

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DefinitionError);
    return (err as DefinitionError).issues;
  }
  throw new Error('expected a DefinitionError, none thrown');
}

type Case = [title: string, run: () => unknown, path: string, fix: RegExp];

const cases: Case[] = [
  [
    'unknown fault kind',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: { fault: 'pod-kil', target: 'api' } as never }] }),
    'phases[0].fault.fault',
    /did you mean 'pod-kill'/,
  ],
  ['negative duration', () => defineGameDay({ ...base(), phases: [{ name: 'x', duration: -5 }] }), 'phases[0].duration', /duration such as/],
  ['duration in words', () => defineGameDay({ ...base(), phases: [{ name: 'x', duration: '5 minutes' }] }), 'phases[0].duration', /'30s'/],
  [
    'zero duration on a fault',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.podFailure({ target: 'api', duration: '0s' }) }] }),
    'phases[0].fault.duration',
    /above 0/,
  ],
  ['missing target', () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.podKill({} as never) }] }), 'phases[0].fault.target', /target: 'api'/],
  [
    'duplicate phase name',
    () =>
      defineGameDay({
        ...base(),
        phases: [
          { name: 'a', duration: '1s' },
          { name: 'a', duration: '2s' },
        ],
      }),
    'phases[1].name',
    /its own name/,
  ],
  [
    'promql probe without tolerance',
    () => defineGameDay({ ...base(), steadyState: [probe.promql({ name: 'err', query: 'up' } as never)] }),
    'steadyState[0].tolerance',
    /tolerance: \{ op: '<'/,
  ],
  [
    'probe every 0s',
    () => defineGameDay({ ...base(), steadyState: [probe.http({ name: 'r', target: 'api', path: '/readyz', every: '0s' })] }),
    'steadyState[0].every',
    /above 0/,
  ],
  [
    'stop condition naming an unknown probe',
    () => defineGameDay({ ...base(), stopWhen: [stop.probeFailing({ probe: 'missing' })] }),
    'stopWhen[0].probe',
    /name one of: ready/,
  ],
  ['budget share of 150%', () => defineGameDay({ ...base(), stopWhen: [stop.budgetConsumed(slo, '150%')] }), 'stopWhen[0].above', /'5%'/],
  [
    'fixed mode without value',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.podKill({ target: 'api', mode: 'fixed' }) }] }),
    'phases[0].fault.value',
    /add value: 1/,
  ],
  [
    'fixed-percent above 100',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.podKill({ target: 'api', mode: 'fixed-percent', value: 150 }) }] }),
    'phases[0].fault.value',
    /value: 50/,
  ],
  ['typo in a top-level key', () => defineGameDay({ ...base(), steadystate: [ready] } as never), 'steadystate', /did you mean 'steadyState'/],
  [
    'typo in a fault key',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.network({ target: 'db', dealy: '1s', duration: '1m' } as never) }] }),
    'phases[0].fault.dealy',
    /did you mean 'delay'/,
  ],
  ['no phases', () => defineGameDay({ ...base(), phases: [] }), 'phases', /at least one phase|add phases/],
  ['no environments', () => defineGameDay({ ...base(), environments: [] }), 'environments', /environments: \['local'/],
  [
    'network fault with no effect',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.network({ target: 'db', duration: '1m' }) }] }),
    'phases[0].fault',
    /delay: '300ms'/,
  ],
  [
    'jitter without delay',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.network({ target: 'db', jitter: '5ms', loss: 0.1, duration: '1m' }) }] }),
    'phases[0].fault.jitter',
    /add delay/,
  ],
  [
    'loss as a word',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.network({ target: 'db', loss: 'some', duration: '1m' }) }] }),
    'phases[0].fault.loss',
    /'5%'/,
  ],
  [
    'expect.alerts not a list',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.podKill({ target: 'api' }), expect: { alerts: 'GraphApiReplicaDown' as never } }] }),
    'phases[0].expect.alerts',
    /alerts: \['GraphApiReplicaDown'\]/,
  ],
  [
    'recoverWithin negative',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.podKill({ target: 'api' }), expect: { recoverWithin: -1 } }] }),
    'phases[0].expect.recoverWithin',
    /duration such as/,
  ],
  ['phase with neither fault nor duration', () => defineGameDay({ ...base(), phases: [{ name: 'idle' }] }), 'phases[0].duration', /duration: '1m'/],
  ['a fault with no steady state to measure recovery', () => defineGameDay({ ...base(), steadyState: [], stopWhen: [] }), 'steadyState', /probe\.http/],
  ['unknown probe kind', () => defineGameDay({ ...base(), steadyState: [{ probe: 'htp', name: 'r' } as never] }), 'steadyState[0]', /did you mean probe\.http/],
  [
    'tolerance that cannot be read',
    () => defineGameDay({ ...base(), steadyState: [probe.promql({ name: 'e', query: 'up', tolerance: 'about 1' })] }),
    'steadyState[0].tolerance',
    /'< 0\.05'/,
  ],
  [
    'stress load above 100%',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.stress({ target: 'api', duration: '1m', cpu: { workers: 1, load: 150 } }) }] }),
    'phases[0].fault.cpu.load',
    /load: 80/,
  ],
  [
    'migration without rollback',
    () => defineGameDay({ ...base(), phases: [{ name: 'x', fault: fault.migration({ target: 'db', apply: 'alter table t add c int' } as never) }] }),
    'phases[0].fault.rollback',
    /journaled before apply/,
  ],
  [
    'restore without database',
    () => defineDrill({ name: 'dr', environments: ['local'], restore: { kind: 'postgres-pitr' } as never }),
    'restore.database',
    /database: 'db'/,
  ],
  ['drill with neither fault nor restore', () => defineDrill({ name: 'd', environments: ['local'], steadyState: [ready] }), 'fault', /fault\.podKill/],
  [
    'RPO targets on a fault drill',
    () => defineDrill({ name: 'd', environments: ['local'], steadyState: [ready], fault: fault.podKill({ target: 'api' }), targets: { rpo: '15m' } }),
    'targets',
    /restore/,
  ],
  [
    'kubernetes environment without namespaces',
    () => defineConfig({ environments: { stage: { kind: 'kubernetes', context: 'stage', namespaces: [], targets: {} } } }),
    'environments.stage.namespaces',
    /namespaces: \['intelgraph'\]/,
  ],
  [
    'unknown environment kind',
    () => defineConfig({ environments: { x: { kind: 'docker' } as never } }),
    'environments.x.kind',
    /'local', 'hosts', 'kubernetes' or 'containers'/,
  ],
];

describe('malformed definitions', () => {
  it.each(cases)('%s → names the field and the fix', (_title, run, path, fix) => {
    const issues = issuesOf(run);
    const issue = issues.find((i) => i.path === path);
    expect(issue, `issues were: ${JSON.stringify(issues)}`).toBeDefined();
    expect(issue!.fix).toMatch(fix);
    expect(issue!.problem.length).toBeGreaterThan(5);
  });

  it('reports every problem of a definition at once, not only the first', () => {
    const issues = issuesOf(() => defineGameDay({ ...base(), environments: [], phases: [{ name: 'a', duration: 'soon' }] }));
    expect(issues.map((i) => i.path).sort()).toEqual(['environments', 'phases[0].duration']);
  });
});

describe('environment resolution (deny by default)', () => {
  const config = defineConfig({
    environments: {
      local: { kind: 'local' },
      stage: { kind: 'kubernetes', context: 'stage', namespaces: ['intelgraph'], targets: { api: { selector: { app: 'graph-api' }, namespace: 'payments' } } },
    },
  });
  const plan = defineGameDay({ ...base(), environments: ['local', 'stage'] }).plan;

  it('refuses an environment the config does not name', () => {
    const [issue] = issuesOf(() => resolveEnvironment(plan, 'prod', config));
    expect(issue).toMatchObject({ path: 'environments.prod' });
    expect(issue!.fix).toMatch(/use one of local, stage/);
  });

  it('refuses an environment the drill does not allow', () => {
    const localOnly = defineGameDay(base()).plan;
    const [issue] = issuesOf(() => resolveEnvironment(localOnly, 'stage', config));
    expect(issue!.path).toBe('environments');
    expect(issue!.problem).toMatch(/not allowed in environment 'stage'/);
  });

  it('refuses a Kubernetes target in a namespace off the allow-list', () => {
    const [issue] = issuesOf(() => resolveEnvironment(plan, 'stage', config));
    expect(issue!.path).toBe('environments.stage.targets.api.namespace');
    expect(issue!.fix).toMatch(/namespaces/);
  });

  it('allows what is named on both sides', () => {
    expect(resolveEnvironment(plan, 'local', config)).toEqual({ kind: 'local' });
  });
});

describe('valid definitions normalise', () => {
  it("turns the API sketch's nightly game-day into a plan with milliseconds and defaults", () => {
    const journey = { kind: 'journey' as const, name: 'ingest-resolve-report' };
    const drill = defineGameDay({
      name: 'nightly',
      title: 'Nightly chaos: replica loss and a slow database',
      environments: ['local', 'stage'],
      steadyState: [ready, probe.journey(journey, { every: '10s' })],
      stopWhen: [stop.budgetConsumed(slo, '5%'), stop.errorRatio({ above: 0.2, for: 3 })],
      phases: [
        { name: 'warm-up', duration: '1m' },
        { name: 'replica-loss', fault: fault.podKill({ target: 'api', mode: 'one' }), expect: { alerts: ['GraphApiReplicaDown'], recoverWithin: '60s' } },
        {
          name: 'slow-db',
          fault: fault.network({ target: 'db', delay: '300ms', jitter: '50ms', duration: '2m' }),
          expect: { alerts: ['GraphApiLatency'], recoverWithin: '2m' },
        },
        { name: 'cool-down', duration: '1m' },
      ],
      checks: { traceCoverage: { min: 0.7 }, slo: [slo] },
    });
    expect(drill.plan.phases[0]).toEqual({ name: 'warm-up', duration: 60_000 });
    expect(drill.plan.phases[2]!.fault).toEqual({
      kind: 'network',
      target: 'db',
      selection: { mode: 'one' },
      duration: 120_000,
      delay: 300,
      jitter: 50,
      direction: 'to',
    });
    expect(drill.plan.phases[2]!.expect).toEqual({ alerts: ['GraphApiLatency'], recoverWithin: 120_000 });
    expect(drill.plan.steadyState[0]).toMatchObject({ kind: 'http', every: 1_000, timeout: 1_000, method: 'GET', expect: { status: [200] } });
    expect(drill.plan.steadyState[1]).toMatchObject({ kind: 'journey', journey: 'ingest-resolve-report', every: 10_000 });
    expect(drill.plan.stopWhen).toEqual([
      { kind: 'budget-consumed', slo: 'graph-api:availability', above: 0.05 },
      { kind: 'error-ratio', above: 0.2, for: 3 },
    ]);
    expect(drill.plan.recoveryPasses).toBe(3);
    expect(drill.plan.checks).toEqual({ traceCoverage: { min: 0.7 }, slo: ['graph-api:availability'] });
    expect(Object.keys(drill.uses.journeys)).toEqual(['ingest-resolve-report']);
    expect(Object.keys(drill.uses.slos)).toEqual(['graph-api:availability']);
    // A plan is data: it survives JSON.
    expect(JSON.parse(JSON.stringify(drill.plan))).toEqual(drill.plan);
  });

  it('turns a one-fault drill into before / fault / after phases with the default recovery bound', () => {
    const drill = defineDrill({ name: 'kill', environments: ['local'], steadyState: [ready], fault: fault.podKill({ target: 'api' }), observe: '2s' });
    expect(drill.plan.phases.map((p) => p.name)).toEqual(['before', 'pod-kill', 'after']);
    expect(drill.plan.phases[1]!.expect).toEqual({ alerts: [], recoverWithin: 60_000 });
  });
});
