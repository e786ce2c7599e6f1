// The input types users write are derived from the schemas (z.input). Checked twice: by
// tsc (`npm run typecheck` covers this file) and by vitest. Each wrong input below carries
// `@ts-expect-error` — tsc fails if the type ever accepts it — and must also be rejected
// by the schema at run time, so the editor and the validation agree.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  defineAlert,
  defineBake,
  defineBrowserJourney,
  defineConfig,
  defineDrill,
  defineGameDay,
  defineJourney,
  defineLoadProfile,
  defineSlo,
  DefinitionError,
  fault,
  probe,
  stop,
  type AlertInput,
  type DrillInput,
  type FaultInput,
  type GameDayInput,
  type LoadProfileInput,
  type ProbeInput,
  type SloInput,
  type StopInput,
  type ToleranceInput,
} from '../../src/define/index.ts';
import type { CustomInput, NetworkInput, PodKillInput } from '../../src/define/faults.ts';
import type { HttpProbeInput } from '../../src/define/probes.ts';
import type { ConfigInput } from '../../src/define/config.ts';
import type { Comparator, CustomActionContext, DrillbookConfig, EnvironmentConfig, SloRef } from '../../src/define/types.ts';
import type { HostTarget, KubernetesEnvironment, LocalEnvironment } from '../../src/define/types.ts';

const slo: SloRef = { kind: 'slo', name: 'availability', id: 'graph-api:availability' };
const ready = probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' });
const journeyRef = { kind: 'journey' as const, name: 'ingest-resolve-report' };
const drillWith = (f: FaultInput) => defineDrill({ name: 'd', environments: ['local'], steadyState: [ready], fault: f });
const drillProbing = (p: ProbeInput) => defineDrill({ name: 'd', environments: ['local'], steadyState: [p], fault: fault.podKill({ target: 'api' }) });
const faultDrill = { name: 'd', environments: ['local'], steadyState: [ready], fault: fault.podKill({ target: 'api' }) } satisfies DrillInput;
const drillStopping = (s: StopInput) => defineDrill({ ...faultDrill, stopWhen: [s] });
const gameDay = { name: 'g', environments: ['local'], phases: [{ name: 'a', duration: '1s' }] } satisfies GameDayInput;
const sloBase = {
  service: 'graph-api',
  name: 'availability',
  objective: 99.9,
  sli: { errors: 'e[{{window}}]', total: 't[{{window}}]' },
  alerting: { name: 'A', runbook: 'runbooks/a.md' },
} satisfies SloInput;
const alertBase = {
  name: 'Down',
  service: 'graph-api',
  expr: 'up == 0',
  severity: 'critical',
  summary: 's',
  description: 'd',
  runbook: 'runbooks/down.md',
} satisfies AlertInput;
/** Throws a DefinitionError with an issue at `path`: rejected for the reason the type gives, not another. */
function rejected(fn: () => unknown, path: string): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(DefinitionError);
  expect((error as DefinitionError).issues.map((i) => i.path)).toContain(path);
}

describe('the derived input types are as precise as the hand-written ones were', () => {
  it('keep literal unions, durations, fractions and function signatures', () => {
    expectTypeOf<NetworkInput['direction']>().toEqualTypeOf<'to' | 'from' | 'both' | undefined>();
    expectTypeOf<NetworkInput['duration']>().toEqualTypeOf<string | number>();
    expectTypeOf<NetworkInput['loss']>().toEqualTypeOf<string | number | undefined>();
    expectTypeOf<PodKillInput['mode']>().toEqualTypeOf<'one' | 'all' | 'fixed' | 'fixed-percent' | undefined>();
    expectTypeOf<CustomInput['inject']>().toEqualTypeOf<string | ((ctx: CustomActionContext) => Promise<void>)>();
    expectTypeOf<HttpProbeInput['method']>().toEqualTypeOf<'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS' | undefined>();
    expectTypeOf<ToleranceInput>().toEqualTypeOf<string | { op: Comparator; value: number } | { range: [number, number] }>();
    expectTypeOf<FaultInput['fault']>().toEqualTypeOf<'pod-kill' | 'pod-failure' | 'network' | 'dependency-outage' | 'stress' | 'migration' | 'custom'>();
    expectTypeOf<ProbeInput['probe']>().toEqualTypeOf<'http' | 'promql' | 'sql' | 'journey' | 'k8s'>();
    expectTypeOf<StopInput['stop']>().toEqualTypeOf<'budget-consumed' | 'error-ratio' | 'alert-firing' | 'probe-failing'>();
    expectTypeOf<LoadProfileInput['scenarios'][string]['executor']>().toEqualTypeOf<
      'constant-arrival-rate' | 'ramping-arrival-rate' | 'constant-vus' | 'ramping-vus' | 'per-vu-iterations' | 'shared-iterations'
    >();
    expectTypeOf<NonNullable<ConfigInput['evidenceDir']>>().toEqualTypeOf<string>();
  });

  it('leave the derived plan types with the shapes the engine was written against', () => {
    expectTypeOf<HostTarget>().toEqualTypeOf<{
      url?: string;
      pidFile?: string;
      commandLine?: string;
      listenPort?: number;
      address?: string;
      proxy?: { listen: string; upstream: string };
    }>();
    expectTypeOf<LocalEnvironment>().toEqualTypeOf<{
      kind: 'local';
      stage?: { replicas?: number; restartDelay?: number; scrapeInterval?: number; archiveTimeout?: number; history?: number };
    }>();
    expectTypeOf<KubernetesEnvironment>().toEqualTypeOf<{
      kind: 'kubernetes';
      kubeconfig?: string;
      context: string;
      namespaces: string[];
      prometheus?: string | { service: string };
      alertmanager?: string | { service: string };
      alertWebhook?: { port: number; tokenFile: string };
      traces?: { tempo?: string | { service: string }; jaeger?: string | { service: string } };
      targets: Record<string, { selector: Record<string, string>; namespace?: string; url?: string | { secret: string; key: string }; port?: string | number }>;
      load?: { k6Operator?: { namespace: string } };
    }>();
    expectTypeOf<EnvironmentConfig['kind']>().toEqualTypeOf<'local' | 'hosts' | 'kubernetes' | 'containers'>();
    expectTypeOf<DrillbookConfig>().toEqualTypeOf<{ evidenceDir: string; environments: Record<string, EnvironmentConfig> }>();
  });
});

describe('correct inputs compile and define', () => {
  it('every fault, probe and stop kind', () => {
    const drill = defineGameDay({
      name: 'all-kinds',
      environments: ['local'],
      steadyState: [
        ready,
        probe.promql({ name: 'errors', query: 'up', tolerance: '< 0.05' }),
        probe.sql({ name: 'rows', target: 'db', query: 'select 1', tolerance: { range: [0, 10] }, every: 2_000 }),
        probe.journey(journeyRef, { every: '10s' }),
      ],
      stopWhen: [
        stop.budgetConsumed(slo, '5%'),
        stop.errorRatio({ above: '20%' }),
        stop.alertFiring({ alert: 'GraphApiAvailability', longerThan: '2m' }),
        stop.probeFailing({ probe: 'ready' }),
      ],
      phases: [
        { name: 'kill', fault: fault.podKill({ target: 'api', mode: 'fixed', value: 1 }) },
        { name: 'pause', fault: fault.podFailure({ target: 'api', duration: '10s' }) },
        { name: 'slow', fault: fault.network({ target: 'db', delay: '300ms', jitter: 50, loss: 0.1, direction: 'both', duration: '1m' }) },
        { name: 'down', fault: fault.dependencyOutage({ target: 'db', duration: '30s' }) },
        { name: 'burn', fault: fault.stress({ target: 'api', duration: '30s', cpu: { workers: 1, load: 80 } }) },
        { name: 'migrate', fault: fault.migration({ target: 'db', apply: 'alter table t add c int', rollback: 'alter table t drop c' }) },
        {
          name: 'own',
          fault: fault.custom({ name: 'dr', inject: async (ctx) => ctx.log(ctx.environment), revert: 'scripts/revert.mjs' }),
          expect: { alerts: ['X'], recoverWithin: '2m' },
        },
      ],
    });
    expect(drill.plan.phases).toHaveLength(7);
    expect(drill.plan.stopWhen.map((s) => s.kind)).toEqual(['budget-consumed', 'error-ratio', 'alert-firing', 'probe-failing']);
  });

  it('a restore drill, a load profile, journeys, a bake, a config, an SLO and an alert', () => {
    const restore = defineDrill({
      name: 'dr',
      environments: ['local'],
      steadyState: [ready],
      restore: { kind: 'postgres-pitr', database: 'db', heartbeat: { every: '100ms' } },
      targets: { rpo: '1s', rto: '2m' },
    });
    const load = defineLoadProfile({
      name: 'steady',
      request: { path: '/ingest', json: { a: 1 }, expect: { status: [201] } },
      scenarios: { steady: { executor: 'constant-arrival-rate', rate: 50, duration: '1m', preAllocatedVUs: 20 } },
      thresholds: { http_req_duration: ['p(95)<300', { threshold: 'p(99)<900', abortOnFail: true, delayAbortEval: '10s' }] },
    });
    const journey = defineJourney({
      name: 'ingest',
      steps: [
        {
          name: 'ingest',
          request: { method: 'POST', path: '/ingest', json: { id: 'x', tags: ['a'] } },
          expect: { json: { '$.caseId': 'exists' } },
          save: { caseId: '$.caseId' },
        },
        { name: 'report', request: { path: '/report/{{caseId}}' }, expect: { status: 200, maxMs: 500 } },
      ],
    });
    const browser = defineBrowserJourney({
      name: 'page',
      steps: [
        { name: 'open', goto: '/', expect: { text: ['#status', 'ready'], maxMs: '2s' } },
        { name: 'go', click: '#go' },
      ],
    });
    const sloDef = defineSlo({ ...sloBase, period: '28d' });
    const bake = defineBake({
      name: 'bake',
      environments: ['local'],
      duration: '2h',
      load: [load],
      synthetics: { journeys: [journey, browser] },
      verdict: { slos: [sloDef] },
    });
    const config = defineConfig({
      environments: {
        local: { kind: 'local', stage: { replicas: 2 } },
        hosts: { kind: 'hosts', targets: { api: { commandLine: 'node api', listenPort: 8080 } } },
      },
    });
    const alert = defineAlert({ ...alertBase, examples: [{ name: 'e', series: { up: '0x10' }, firingAt: ['5s'] }] });
    const drill = defineDrill({ ...faultDrill, load, checks: { traceCoverage: { min: '90%' }, slo: [sloDef] } });
    expect([restore.plan.restore?.kind, load.kind, journey.kind, browser.runner, bake.kind, config.evidenceDir, alert.for, drill.plan.load]).toEqual([
      'postgres-pitr',
      'load-profile',
      'journey',
      'browser',
      'bake',
      'evidence-pack',
      0,
      'steady',
    ]);
  });
});

describe('wrong inputs are refused by the type and by the schema alike', () => {
  it('faults', () => {
    // @ts-expect-error direction is 'to' | 'from' | 'both'
    rejected(() => drillWith(fault.network({ target: 'db', delay: '1s', duration: '1m', direction: 'sideways' })), 'fault.direction');
    // @ts-expect-error mode is one of Chaos Mesh's modes
    rejected(() => drillWith(fault.podKill({ target: 'api', mode: 'some' })), 'fault.mode');
    // @ts-expect-error a duration is a string or milliseconds
    rejected(() => drillWith(fault.podFailure({ target: 'api', duration: true })), 'fault.duration');
    // @ts-expect-error inject is a script path or a function
    rejected(() => drillWith(fault.custom({ name: 'x', inject: 42 })), 'fault.inject');
    // @ts-expect-error cpu needs workers and load
    rejected(() => drillWith(fault.stress({ target: 'api', duration: '1m', cpu: { workers: 1 } })), 'fault.cpu.load');
    // @ts-expect-error a typo in a key is an excess property
    rejected(() => drillWith(fault.network({ target: 'db', dealy: '1s', duration: '1m' })), 'fault.dealy');
  });

  it('a custom action is typed by its context (type only: any function is accepted at run time)', () => {
    // @ts-expect-error the context has environment, signal and log; nothing else
    fault.custom({ name: 'x', inject: async (ctx) => ctx.nope });
    expect(fault.custom({ name: 'x', inject: async (ctx) => ctx.signal.throwIfAborted() }).fault).toBe('custom');
  });

  it('probes and stop conditions', () => {
    // @ts-expect-error an HTTP method, not any word
    rejected(() => drillProbing(probe.http({ name: 'r', target: 'api', path: '/readyz', method: 'FETCH' })), 'steadyState[0].method');
    // @ts-expect-error a numeric probe needs a tolerance
    rejected(() => drillProbing(probe.promql({ name: 'e', query: 'up' })), 'steadyState[0].tolerance');
    // @ts-expect-error op is a comparator
    rejected(() => drillProbing(probe.sql({ name: 's', target: 'db', query: 'select 1', tolerance: { op: '=~', value: 1 } })), 'steadyState[0].tolerance.op');
    // @ts-expect-error a journey probe takes a journey
    rejected(() => drillProbing(probe.journey({ kind: 'load-profile', name: 'steady' })), 'steadyState[0].journey.kind');
    // @ts-expect-error error-ratio needs above
    rejected(() => drillStopping(stop.errorRatio({ for: 3 })), 'stopWhen[0].above');
    // @ts-expect-error alert-firing needs longerThan
    rejected(() => drillStopping(stop.alertFiring({ alert: 'GraphApiAvailability' })), 'stopWhen[0].longerThan');
    // @ts-expect-error budget-consumed takes an SLO
    rejected(() => drillStopping(stop.budgetConsumed({ kind: 'slo', name: 'availability' }, '5%')), 'stopWhen[0].slo');
  });

  it('drills and game-days', () => {
    // @ts-expect-error the only restore kind is 'postgres-pitr'
    rejected(() => defineDrill({ name: 'dr', environments: ['local'], steadyState: [ready], restore: { kind: 'mysql', database: 'db' } }), 'restore.kind');
    // @ts-expect-error load takes a load profile
    rejected(() => defineDrill({ ...faultDrill, load: journeyRef }), 'load.kind');
    // @ts-expect-error environments is a list
    rejected(() => defineDrill({ ...faultDrill, environments: 'local' }), 'environments');
    // @ts-expect-error a typo in a top-level key
    rejected(() => defineGameDay({ ...gameDay, steadystate: [ready] }), 'steadystate');
    // @ts-expect-error recoveryPasses is a number
    rejected(() => defineGameDay({ ...gameDay, recoveryPasses: 'three' }), 'recoveryPasses');
  });

  it('load profiles, journeys, bakes, the config, SLOs and alerts', () => {
    // @ts-expect-error an executor k6 knows
    rejected(() => defineLoadProfile({ name: 'l', request: { path: '/' }, scenarios: { s: { executor: 'constant-rps' } } }), 'scenarios.s.executor');
    // @ts-expect-error a journey needs steps
    rejected(() => defineJourney({ name: 'j' }), 'steps');
    // @ts-expect-error text is [selector, text]
    rejected(() => defineBrowserJourney({ name: 'b', steps: [{ name: 'open', goto: '/', expect: { text: ['#status'] } }] }), 'steps[0].expect.text');
    // @ts-expect-error the verdict's SLOs need their objective and period (made with defineSlo)
    rejected(() => defineBake({ name: 'b', environments: ['local'], verdict: { slos: [slo] } }), 'verdict.slos[0].objective');
    // @ts-expect-error an environment kind the harness knows
    rejected(() => defineConfig({ environments: { x: { kind: 'docker' } } }), 'environments.x.kind');
    rejected(
      () =>
        defineConfig({
          environments: {
            // @ts-expect-error listenPort is a number
            h: { kind: 'hosts', targets: { api: { listenPort: '8080' } } },
          },
        }),
      'environments.h.targets.api.listenPort',
    );
    // @ts-expect-error period is '30d' or '28d'
    rejected(() => defineSlo({ ...sloBase, period: '7d' }), 'period');
    // @ts-expect-error severity is 'critical' or 'warning'
    rejected(() => defineAlert({ ...alertBase, severity: 'info' }), 'severity');
  });
});
