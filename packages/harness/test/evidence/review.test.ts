// Go/No-Go: missing evidence is NO-GO with every missing item named; a complete, green
// pack is GO. Evidence files are in their published formats.
import { describe, expect, it } from 'vitest';
import { review, goNoGoMemo, verificationSummary, type ReviewInput } from '../../src/evidence/review.ts';
import { junitXml } from '../../src/evidence/junit.ts';
import { syntheticRunRecord, T0 } from '../support/run-record-fixture.ts';
import { rollbackRecord } from '../support/recovery-record.ts';
import type { RunRecord } from '../../src/evidence/run-record.ts';

const digest = 'a'.repeat(64);
const green: Record<string, unknown> = {
  'security/trivy.sarif': {
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'trivy' } }, results: [{ ruleId: 'CVE-2024-0001', level: 'warning', message: { text: 'low' } }] }],
  },
  'sbom/graph-api.cdx.json': {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    components: [],
    vulnerabilities: [{ id: 'CVE-2024-0002', ratings: [{ severity: 'low' }] }],
  },
  'supply-chain/provenance.json': {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'registry/graph-api', digest: { sha256: digest } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {},
  },
  'supply-chain/cosign-verify.json': [
    {
      critical: {
        identity: { 'docker-reference': 'registry/graph-api' },
        image: { 'docker-manifest-digest': `sha256:${digest}` },
        type: 'cosign container image signature',
      },
      optional: {},
    },
  ],
  'policy/conftest.json': [{ filename: 'k8s/deploy.yaml', namespace: 'main', successes: 12, failures: [] }],
  'rollout/canary-metrics.json': { intervals: [{ healthy: true }, { healthy: true }, { healthy: true }] },
  'rollout/schema-gate.json': { backwardCompatible: true, rollbackTested: true },
  'cost/infracost.json': { currency: 'USD', pastTotalMonthlyCost: '1000', totalMonthlyCost: '1040', diffTotalMonthlyCost: '40' },
  'rollout/change.json': {
    service: 'graph-api',
    summary: 'Entity resolution v2',
    rollback: 'Helm rollback to 1.2.2; migration 003 has a tested down-migration.',
  },
};

/** A passing rollback drill `daysAgo` days old whose rollback the team's remediation ran (or the harness's timer). */
function backoutRun(daysAgo: number, how: 'remediated' | 'timer' = 'remediated'): RunRecord {
  const r = rollbackRecord(how, T0 - daysAgo * 86_400_000);
  return { ...r, runId: `run-backout-${how}` };
}

const now = T0 + 60_000;
const input = (files: Record<string, unknown>, runs: RunRecord[]): ReviewInput => ({
  release: '1.3.0',
  now,
  files,
  runs: runs.map((record, i) => ({ path: `chaos-dr/run-${i}.json`, record })),
});

describe('drill review', () => {
  it('says NO-GO and lists every missing item when the pack has only drill runs', () => {
    const d = review(input({}, []));
    expect(d.decision).toBe('NO-GO');
    expect(d.gates.filter((g) => g.status === 'missing').map((g) => g.id)).toEqual([
      'drills',
      'vulnerabilities',
      'supply-chain',
      'policy',
      'canary',
      'schema',
      'alerts',
      'cost',
      'backout',
    ]);
    const memo = goNoGoMemo(input({}, []), d);
    expect(memo).toMatch(/\*\*Decision: NO-GO\*\*/);
    expect(memo).toMatch(/⚠️ missing \| no SARIF scan/);
  });

  it('says GO when every gate has passing evidence', () => {
    const d = review(input(green, [syntheticRunRecord(0), backoutRun(3)]));
    expect(d.gates.filter((g) => g.status !== 'pass')).toEqual([]);
    expect(d.decision).toBe('GO');
    const vsa = verificationSummary(input(green, []), d, digest);
    expect(vsa.predicate.verificationResult).toBe('PASSED');
    expect(goNoGoMemo(input(green, []), d)).toMatch(/Helm rollback to 1\.2\.2/);
  });

  it('fails a gate on bad evidence: a high finding, a policy failure, a canary dip, a stale backout, a cost jump, a silent alert', () => {
    const bad = {
      ...green,
      'security/trivy.sarif': { runs: [{ results: [{ ruleId: 'CVE-2024-9999', level: 'error' }] }] },
      'policy/conftest.json': [{ filename: 'k8s/deploy.yaml', failures: [{ msg: 'containers must not run as root' }] }],
      'rollout/canary-metrics.json': { intervals: [{ healthy: true }, { healthy: false }, { healthy: true }] },
      'cost/infracost.json': { pastTotalMonthlyCost: '1000', diffTotalMonthlyCost: '400' },
    };
    const silent = syntheticRunRecord(0);
    silent.checks = silent.checks.map((c) => (/ fired$/.test(c.name) ? { ...c, ok: false } : c));
    const d = review(input(bad, [silent, backoutRun(45)]));
    expect(Object.fromEntries(d.gates.map((g) => [g.id, g.status]))).toEqual({
      drills: 'pass',
      vulnerabilities: 'fail',
      'supply-chain': 'pass',
      policy: 'fail',
      canary: 'fail',
      schema: 'pass',
      alerts: 'fail',
      cost: 'fail',
      backout: 'fail',
    });
    expect(d.gates.find((g) => g.id === 'backout')!.detail).toMatch(/45\.0 days ago/);
  });

  it('reads every run in the release: a failed game-day stays in the memo after a later pass, and a failing newest run is NO-GO', () => {
    const failed = { ...syntheticRunRecord(0), drill: 'gameday-db-outage', runId: 'run-failed', verdict: 'fail' as const, startedAt: T0 - 7_200_000 };
    const passed = { ...syntheticRunRecord(0), drill: 'gameday-db-outage', runId: 'run-passed', verdict: 'pass' as const, startedAt: T0 - 3_600_000 };
    const later = input(green, [failed, passed, backoutRun(3)]);
    const d = review(later);
    const drills = d.gates.find((g) => g.id === 'drills')!;
    expect(drills.status).toBe('pass');
    expect(drills.detail).toMatch(/earlier in the release: gameday-db-outage FAIL \(run-failed\)/);
    const memo = goNoGoMemo(later, d);
    expect(memo).toMatch(/\| gameday-db-outage \| `run-failed` \| FAIL \|/);
    expect(memo).toMatch(/\| gameday-db-outage \| `run-passed` \| PASS \|/);

    const newestFails = review(input(green, [{ ...passed, startedAt: T0 - 7_200_000 }, { ...failed, startedAt: T0 - 3_600_000 }, backoutRun(3)]));
    expect(newestFails.gates.find((g) => g.id === 'drills')!.status).toBe('fail');
    expect(newestFails.decision).toBe('NO-GO');
  });

  it('backout (ORR 8) passes only on a remediated rollback within 30 days; a timer-driven one stays named but does not count', () => {
    const gate = (runs: RunRecord[]) => review(input(green, runs)).gates.find((g) => g.id === 'backout')!;
    const timerOnly = gate([backoutRun(2, 'timer')]);
    expect(timerOnly.status).toBe('fail');
    expect(timerOnly.detail).toMatch(/no remediated rollback drill/);
    expect(timerOnly.detail).toMatch(
      /timer-driven, does not count: gameday-migration-rollback passed 2\.0 days ago \(run-backout-timer; bad-migration: after-revert\)/,
    );
    const both = gate([backoutRun(5), backoutRun(2, 'timer')]);
    expect(both.status).toBe('pass');
    expect(both.detail).toMatch(
      /^remediated: gameday-migration-rollback passed 5\.0 days ago \(run-backout-remediated; bad-migration: remediated\); timer-driven, does not count: .*2\.0 days ago/,
    );
    expect(both.evidence).toEqual(['chaos-dr/run-0.json', 'chaos-dr/run-1.json']);
    const stale = gate([backoutRun(31), backoutRun(2, 'timer')]);
    expect([stale.status, stale.detail]).toEqual(['fail', expect.stringMatching(/^remediated: .*31\.0 days ago/)]);
    expect(gate([]).status).toBe('missing');
  });

  it('writes JUnit XML with a failure per failed check', () => {
    const r = syntheticRunRecord(0);
    r.checks = [...r.checks, { name: 'kill: GraphApiAvailability fired', ok: false, detail: 'never fired <here>' }];
    const xml = junitXml(r);
    expect(xml).toMatch(/<testsuites name="drillbook" tests="\d+" failures="1"/);
    expect(xml).toContain('<failure message="never fired &lt;here&gt;"/>');
  });
});
