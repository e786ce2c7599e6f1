// `drill review`: the seeds' eight Operational Readiness checks, and that every drill in the release passed, decided from the pack.
// What the harness measures (alerts doing their job, backout drills, canary health) is read
// from its own run records; the rest from files the pipeline drops into the pack in their
// published formats (SARIF, CycloneDX, SLSA provenance, cosign, conftest, Infracost).
// Missing evidence is NO-GO, never a pass. Pure: files in, decision out. The backout gate (8) counts
// only a rollback the team's own automation ran (recoveredBy 'remediated', measure/episodes.ts).
import type { RunRecord } from './run-record.ts';
import { episodesOfRecord } from './record-episodes.ts';

export type GateStatus = 'pass' | 'fail' | 'missing';

export interface Gate {
  id: string;
  name: string;
  status: GateStatus;
  detail: string;
  evidence: string[];
}

export interface ReviewInput {
  release: string;
  now: number;
  /** Pack-relative path → parsed JSON, for every JSON file in the pack. */
  files: Record<string, unknown>;
  runs: Array<{ path: string; record: RunRecord }>;
  backoutMaxAgeDays?: number;
  costIncreaseMax?: number;
}

export interface ReviewDecision {
  decision: 'GO' | 'NO-GO';
  gates: Gate[];
}

const DAY = 86_400_000;
const under = (files: Record<string, unknown>, dir: string, suffix: string) =>
  Object.keys(files)
    .filter((p) => p.startsWith(`${dir}/`) && p.endsWith(suffix))
    .sort();

/** 1. Zero criticals/highs: SARIF `error` results and CycloneDX critical/high vulnerabilities. */
function securityGate(files: Record<string, unknown>): Gate {
  const sarif = under(files, 'security', '.sarif');
  const sboms = under(files, 'sbom', '.cdx.json');
  if (!sarif.length && !sboms.length)
    return {
      id: 'vulnerabilities',
      name: 'Zero critical/high findings',
      status: 'missing',
      detail: 'no SARIF scan (security/*.sarif) and no CycloneDX SBOM with vulnerabilities (sbom/*.cdx.json) in the pack',
      evidence: [],
    };
  const findings: string[] = [];
  for (const p of sarif) {
    const doc = files[p] as { runs?: Array<{ results?: Array<{ level?: string; ruleId?: string; message?: { text?: string } }> }> };
    for (const r of doc.runs ?? []) for (const res of r.results ?? []) if ((res.level ?? 'warning') === 'error') findings.push(`${p}: ${res.ruleId ?? '?'}`);
  }
  for (const p of sboms) {
    const doc = files[p] as { vulnerabilities?: Array<{ id?: string; ratings?: Array<{ severity?: string }> }> };
    for (const v of doc.vulnerabilities ?? [])
      if ((v.ratings ?? []).some((r) => r.severity === 'critical' || r.severity === 'high')) findings.push(`${p}: ${v.id ?? '?'}`);
  }
  return {
    id: 'vulnerabilities',
    name: 'Zero critical/high findings',
    status: findings.length ? 'fail' : 'pass',
    detail: findings.length
      ? `${findings.length} critical/high: ${findings.slice(0, 5).join(', ')}`
      : `0 critical/high in ${sarif.length + sboms.length} report(s)`,
    evidence: [...sarif, ...sboms],
  };
}

/** 2. Signed images and provenance: a SLSA provenance statement and a cosign verification. */
function supplyChainGate(files: Record<string, unknown>): Gate {
  const statements = under(files, 'supply-chain', '.json').filter((p) =>
    String((files[p] as { predicateType?: string }).predicateType ?? '').startsWith('https://slsa.dev/provenance/'),
  );
  const cosign = under(files, 'supply-chain', '.json').filter(
    (p) =>
      Array.isArray(files[p]) &&
      (files[p] as Array<{ critical?: { image?: { 'docker-manifest-digest'?: string } } }>).some((e) => e.critical?.image?.['docker-manifest-digest']),
  );
  const missing = [
    !statements.length && 'a SLSA provenance statement (supply-chain/*.json, predicateType https://slsa.dev/provenance/…)',
    !cosign.length && 'a cosign verification (supply-chain/*.json, `cosign verify --output json`)',
  ].filter(Boolean);
  if (missing.length)
    return {
      id: 'supply-chain',
      name: 'Signed images with provenance',
      status: 'missing',
      detail: `missing ${missing.join(' and ')}`,
      evidence: [...statements, ...cosign],
    };
  const signed = new Set(
    cosign.flatMap((p) =>
      (files[p] as Array<{ critical: { image: { 'docker-manifest-digest': string } } }>).map((e) =>
        e.critical.image['docker-manifest-digest'].replace(/^sha256:/, ''),
      ),
    ),
  );
  const subjects = statements.flatMap((p) =>
    ((files[p] as { subject?: Array<{ digest?: { sha256?: string } }> }).subject ?? []).map((s) => s.digest?.sha256 ?? ''),
  );
  const unsigned = subjects.filter((d) => !signed.has(d));
  return {
    id: 'supply-chain',
    name: 'Signed images with provenance',
    status: unsigned.length ? 'fail' : 'pass',
    detail: unsigned.length ? `${unsigned.length} image(s) with provenance but no verified signature` : `${subjects.length} image(s) signed, with provenance`,
    evidence: [...statements, ...cosign],
  };
}

/** 3. Policy pack: conftest's JSON output with no failure. */
function policyGate(files: Record<string, unknown>): Gate {
  const reports = under(files, 'policy', '.json');
  if (!reports.length)
    return {
      id: 'policy',
      name: 'Policy pack passes',
      status: 'missing',
      detail: 'no conftest result (policy/*.json, `conftest test --output json`)',
      evidence: [],
    };
  const failures = reports.flatMap((p) =>
    ((files[p] as Array<{ filename?: string; failures?: Array<{ msg?: string }> }>) ?? []).flatMap((r) =>
      (r.failures ?? []).map((f) => `${r.filename}: ${f.msg}`),
    ),
  );
  return {
    id: 'policy',
    name: 'Policy pack passes',
    status: failures.length ? 'fail' : 'pass',
    detail: failures.length ? failures.slice(0, 5).join('; ') : 'no policy failure',
    evidence: reports,
  };
}

/** 4. Canary health over 3 consecutive intervals (rollout/canary-metrics.json). */
function canaryGate(files: Record<string, unknown>): Gate {
  const doc = files['rollout/canary-metrics.json'] as { intervals?: Array<{ healthy?: boolean; errorRatio?: number; p95Ms?: number }> } | undefined;
  if (!doc?.intervals?.length)
    return {
      id: 'canary',
      name: 'Canary healthy over 3 consecutive intervals',
      status: 'missing',
      detail: 'no rollout/canary-metrics.json with intervals',
      evidence: [],
    };
  const last = doc.intervals.slice(-3);
  const ok = last.length === 3 && last.every((i) => i.healthy === true);
  return {
    id: 'canary',
    name: 'Canary healthy over 3 consecutive intervals',
    status: ok ? 'pass' : 'fail',
    detail: `last ${last.length} interval(s): ${last.map((i) => (i.healthy ? 'healthy' : 'unhealthy')).join(', ')}`,
    evidence: ['rollout/canary-metrics.json'],
  };
}

/** 5. Schema gate: migrations backward compatible and their rollback tested. */
function schemaGate(files: Record<string, unknown>, runs: ReviewInput['runs']): Gate {
  const doc = files['rollout/schema-gate.json'] as { backwardCompatible?: boolean; rollbackTested?: boolean } | undefined;
  const drill = runs.find((r) => r.record.plan.phases.some((p) => p.fault?.kind === 'migration') && r.record.verdict === 'pass');
  if (!doc && !drill)
    return {
      id: 'schema',
      name: 'Schema gate',
      status: 'missing',
      detail: 'no rollout/schema-gate.json and no passing migration-rollback drill in the pack',
      evidence: [],
    };
  const ok = doc ? doc.backwardCompatible === true && (doc.rollbackTested === true || Boolean(drill)) : true;
  return {
    id: 'schema',
    name: 'Schema gate',
    status: ok ? 'pass' : 'fail',
    detail: doc
      ? `backward compatible: ${doc.backwardCompatible}, rollback tested: ${doc.rollbackTested || Boolean(drill)}`
      : `migration rollback drilled (${drill!.record.runId})`,
    evidence: [...(doc ? ['rollout/schema-gate.json'] : []), ...(drill ? [drill.path] : [])],
  };
}

/** The newest run of each drill, newest first. */
function latestPerDrill(runs: ReviewInput['runs']): ReviewInput['runs'] {
  const latest = new Map<string, ReviewInput['runs'][number]>();
  for (const r of runs) {
    const prev = latest.get(r.record.drill);
    if (!prev || r.record.startedAt > prev.record.startedAt) latest.set(r.record.drill, r);
  }
  return [...latest.values()].sort((a, b) => b.record.startedAt - a.record.startedAt);
}

const firedChecks = (r: ReviewInput['runs'][number]) => r.record.checks.filter((c) => / fired$/.test(c.name));

/** 6. On-call ready: in the newest run of every drill that expected alerts, every expected alert fired. */
function alertsGate(runs: ReviewInput['runs']): Gate {
  const withAlerts = latestPerDrill(runs.filter((r) => firedChecks(r).length));
  if (!withAlerts.length)
    return {
      id: 'alerts',
      name: 'Alerts and runbooks verified by a drill',
      status: 'missing',
      detail: 'no drill run in the pack expected an alert',
      evidence: [],
    };
  const silent = withAlerts.flatMap((r) =>
    firedChecks(r)
      .filter((c) => !c.ok)
      .map((c) => `${r.record.drill} (${r.record.runId}) ${c.name}`),
  );
  const fired = withAlerts.reduce((n, r) => n + firedChecks(r).length, 0);
  return {
    id: 'alerts',
    name: 'Alerts and runbooks verified by a drill',
    status: silent.length ? 'fail' : 'pass',
    detail: silent.length
      ? `${silent.join(', ')}: did not fire`
      : `${fired} expected alert(s) fired across ${withAlerts.length} drill(s): ${withAlerts.map((r) => r.record.drill).join(', ')}`,
    evidence: withAlerts.map((r) => r.path),
  };
}

/**
 * 0. Every drill's newest run in the release passed. An earlier failure stays named in the detail
 * even when a later run passed, so a reviewer sees it and can ask why.
 */
function drillsGate(runs: ReviewInput['runs']): Gate {
  if (!runs.length) return { id: 'drills', name: 'Drills passed', status: 'missing', detail: 'no drill run in the pack', evidence: [] };
  const latest = latestPerDrill(runs);
  const failing = latest.filter((r) => r.record.verdict !== 'pass');
  const earlier = runs.filter((r) => r.record.verdict !== 'pass' && !latest.includes(r));
  const parts = [
    failing.length
      ? `${failing.map((r) => `${r.record.drill} ${r.record.verdict.toUpperCase()} (${r.record.runId})`).join(', ')}`
      : `the newest run of each of ${latest.length} drill(s) passed`,
    ...(earlier.length
      ? [`earlier in the release: ${earlier.map((r) => `${r.record.drill} ${r.record.verdict.toUpperCase()} (${r.record.runId})`).join(', ')}`]
      : []),
  ];
  return { id: 'drills', name: 'Drills passed', status: failing.length ? 'fail' : 'pass', detail: parts.join('; '), evidence: runs.map((r) => r.path).sort() };
}

/** 7. Cost guard: Infracost's diff within the allowed increase. */
function costGate(files: Record<string, unknown>, maxIncrease: number): Gate {
  const p = under(files, 'cost', '.json')[0];
  if (!p) return { id: 'cost', name: 'Cost guard', status: 'missing', detail: 'no cost/*.json (Infracost `breakdown`/`diff --format json`)', evidence: [] };
  const doc = files[p] as { pastTotalMonthlyCost?: string; totalMonthlyCost?: string; diffTotalMonthlyCost?: string; currency?: string };
  const past = Number(doc.pastTotalMonthlyCost ?? 0);
  const diff = Number(doc.diffTotalMonthlyCost ?? 0);
  const share = past > 0 ? diff / past : diff > 0 ? Infinity : 0;
  return {
    id: 'cost',
    name: 'Cost guard',
    status: share <= maxIncrease ? 'pass' : 'fail',
    detail: `${diff >= 0 ? '+' : ''}${diff} ${doc.currency ?? ''}/month (${Number.isFinite(share) ? (share * 100).toFixed(1) : '∞'}%, bound ${(maxIncrease * 100).toFixed(0)}%)`,
    evidence: [p],
  };
}

const isBackoutFault = (kind: string | undefined) => kind === 'migration' || kind === 'data-loss';

/** The backout episodes of a passing rollback or restore drill and whether the team's own automation took the fault out. */
function backoutOf(r: ReviewInput['runs'][number]): { remediated: boolean; recoveredBy: string[] } | undefined {
  if (r.record.verdict !== 'pass' || !r.record.plan.phases.some((p) => isBackoutFault(p.fault?.kind))) return undefined;
  const episodes = episodesOfRecord(r.record).filter((e) => isBackoutFault(e.faultKind));
  return { remediated: episodes.some((e) => e.recoveredBy === 'remediated'), recoveredBy: episodes.map((e) => `${e.phase}: ${e.recoveredBy}`) };
}

/**
 * 8. Backout plan tested: a passing rollback drill within the last N days whose rollback was REMEDIATED,
 * i.e. run by the team's own automation (an alert-driven script, a person), not by the harness's timer.
 * A timer-driven one proves the rollback SQL works, not that anything triggers it: it stays named in
 * the detail, but does not pass the gate.
 */
function backoutGate(runs: ReviewInput['runs'], now: number, maxAgeDays: number): Gate {
  const name = `Backout plan tested in the last ${maxAgeDays} days`;
  const backouts = runs
    .map((r) => ({ r, b: backoutOf(r) }))
    .filter((x): x is { r: ReviewInput['runs'][number]; b: NonNullable<ReturnType<typeof backoutOf>> } => x.b !== undefined)
    .sort((a, b) => b.r.record.startedAt - a.r.record.startedAt);
  if (!backouts.length) return { id: 'backout', name, status: 'missing', detail: 'no passing rollback or restore drill in the pack', evidence: [] };
  const age = (r: ReviewInput['runs'][number]) => (now - r.record.startedAt) / DAY;
  const describe = ({ r, b }: (typeof backouts)[number]) =>
    `${r.record.drill} passed ${age(r).toFixed(1)} days ago (${r.record.runId}; ${b.recoveredBy.join(', ') || 'no backout episode'})`;
  const remediated = backouts.find((x) => x.b.remediated);
  const timer = backouts.find((x) => !x.b.remediated);
  // The newest timer-driven backout stays visible: it was the gate's evidence before remediation was required.
  const timerNote =
    timer && (!remediated || timer.r.record.startedAt > remediated.r.record.startedAt) ? [`timer-driven, does not count: ${describe(timer)}`] : [];
  if (!remediated) {
    const detail = [`no remediated rollback drill: the rollback must be run by the team's automation, not the harness's timer`, ...timerNote].join('; ');
    return { id: 'backout', name, status: 'fail', detail, evidence: [timer!.r.path] };
  }
  const fresh = age(remediated.r) <= maxAgeDays;
  return {
    id: 'backout',
    name,
    status: fresh ? 'pass' : 'fail',
    detail: [`remediated: ${describe(remediated)}`, ...timerNote].join('; '),
    evidence: [remediated.r.path, ...(timerNote.length ? [timer!.r.path] : [])],
  };
}

export function review(input: ReviewInput): ReviewDecision {
  const gates = [
    drillsGate(input.runs),
    securityGate(input.files),
    supplyChainGate(input.files),
    policyGate(input.files),
    canaryGate(input.files),
    schemaGate(input.files, input.runs),
    alertsGate(input.runs),
    costGate(input.files, input.costIncreaseMax ?? 0.1),
    backoutGate(input.runs, input.now, input.backoutMaxAgeDays ?? 30),
  ];
  return { decision: gates.every((g) => g.status === 'pass') ? 'GO' : 'NO-GO', gates };
}

const seconds = (v: number | null | undefined) => (typeof v === 'number' ? `${(v / 1000).toFixed(1)} s` : '—');

/** One memo row: a run's verdict with its first TTD and TTR and its MTTR (values from its record). */
function runRow(r: ReviewInput['runs'][number]): string {
  const m = r.record.measures;
  const firstOf = (suffix: string) => Object.entries(m).find(([k, v]) => k.endsWith(suffix) && typeof v?.value === 'number')?.[1]?.value;
  return `| ${r.record.drill} | \`${r.record.runId}\` | ${r.record.verdict.toUpperCase()} | ${seconds(firstOf('.ttd'))} | ${seconds(firstOf('.ttr'))} | ${seconds(m.mttr?.value)} |`;
}

/** The one-page memo. */
export function goNoGoMemo(input: ReviewInput, decision: ReviewDecision): string {
  const change = input.files['rollout/change.json'] as { service?: string; summary?: string; rollback?: string } | undefined;
  const backout = decision.gates.find((g) => g.id === 'backout');
  const icon = (s: GateStatus) => (s === 'pass' ? '✅ pass' : s === 'fail' ? '❌ fail' : '⚠️ missing');
  const risks = decision.gates.filter((g) => g.status !== 'pass');
  return [
    `# Go/No-Go — ${change?.service ?? 'service'} ${input.release}`,
    '',
    `**Decision: ${decision.decision}** · reviewed ${new Date(input.now).toISOString()} by \`drill review\``,
    '',
    '## Change',
    change?.summary ?? '_No change summary in the pack (rollout/change.json)._',
    '',
    '## Risks',
    ...(risks.length ? risks.map((g) => `- ${g.name}: ${g.detail}`) : ['- None open: every gate passed with evidence in the pack.']),
    '',
    '## Gates',
    '| gate | status | detail | evidence |',
    '| --- | --- | --- | --- |',
    ...decision.gates.map(
      (g) => `| ${g.name} | ${icon(g.status)} | ${g.detail.replace(/\|/g, '\\|')} | ${g.evidence.map((e) => `\`${e}\``).join(', ') || '—'} |`,
    ),
    '',
    '## Drill runs in this release',
    ...(input.runs.length
      ? [
          '| drill | run | verdict | TTD | TTR | MTTR |',
          '| --- | --- | --- | --- | --- | --- |',
          ...[...input.runs].sort((a, b) => a.record.startedAt - b.record.startedAt).map(runRow),
        ]
      : ['_No drill run in the pack._']),
    '',
    '## Rollback plan',
    change?.rollback ?? (backout?.status === 'pass' ? `Rehearsed: ${backout.detail}.` : '_No rollback plan recorded, and no recent backout drill._'),
    '',
    '## Decision',
    decision.decision === 'GO' ? 'GO: every readiness gate passed on evidence in this pack.' : `NO-GO: ${risks.length} gate(s) without passing evidence.`,
    '',
  ].join('\n');
}

/** A machine-readable decision in the shape of a SLSA verification summary attestation's predicate. */
export function verificationSummary(input: ReviewInput, decision: ReviewDecision, manifestDigest: string) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: `release-${input.release}/manifest.json`, digest: { sha256: manifestDigest } }],
    predicateType: 'https://slsa.dev/verification_summary/v1',
    predicate: {
      verifier: { id: 'https://drillbook.dev/drill-review/v1' },
      timeVerified: new Date(input.now).toISOString(),
      resourceUri: `evidence-pack/release-${input.release}`,
      policy: { uri: 'https://drillbook.dev/policies/operational-readiness/v1' },
      verificationResult: decision.decision === 'GO' ? 'PASSED' : 'FAILED',
      verifiedLevels: decision.decision === 'GO' ? ['DRILLBOOK_ORR_8_OF_8'] : [],
      gates: decision.gates,
    },
  };
}
