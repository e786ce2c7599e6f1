// The `drill` command as users run it: the real bin, in a child process.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHAOS_MESH_CRDS, haveChaosMeshCrds } from '../support/reference.ts';

const repo = resolve(__dirname, '../../../..');
const bin = join(repo, 'packages/harness/bin/drill.js');
const tmp = mkdtempSync(join(repo, '.tmp-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function drill(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', ...(haveChaosMeshCrds ? { DRILLBOOK_CHAOS_MESH_CRDS: CHAOS_MESH_CRDS } : {}) },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every file under a project's evidence-pack/, out/ and .drillbook/ with its mtime: to show a dry run writes nothing. */
function snapshot(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = statSync(p).mtimeMs;
    }
  };
  for (const d of ['evidence-pack', 'out', '.drillbook']) {
    try {
      walk(join(root, d));
    } catch {
      // absent is fine
    }
  }
  return out;
}

describe('drill CLI', () => {
  it('validate exits 2 on a malformed drill and names the file, the field and the fix', () => {
    const file = join(tmp, 'bad.ts');
    writeFileSync(
      file,
      `import { defineGameDay, fault, probe } from '@drillbook/harness';
export default defineGameDay({ name: 'bad', environments: ['local'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '5 minutes' })],
  phases: [{ name: 'k', fault: fault.podKill({ target: 'api' }) }] });`,
    );
    const r = drill('validate', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.ts: steadyState\[0\]\.every: expected a positive duration, got '5 minutes'/);
    expect(r.err).toMatch(/fix: write a duration such as/);
  });

  it('validate passes every definition in the repository', () => {
    const r = drill('validate');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/all valid/);
  });

  it('run --dry-run prints the plan, exits 0 and changes nothing on disk', () => {
    const before = snapshot(repo);
    const r = drill('run', 'drills/nightly.ts', '--dry-run');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/timeline:/);
    expect(r.out).toMatch(/replica-loss .*until recovered/);
    expect(r.out).toMatch(/fault: pod-kill on api \(one\) via local-process/);
    expect(r.out).toMatch(/stop conditions:\n  error budget of graph-api:availability consumed above 5\.0%/);
    expect(snapshot(repo)).toEqual(before);
  });

  it('the seed drills have a Kubernetes variant: on `stage` they plan Chaos Mesh objects valid against the CRDs, and SQL for the migration', () => {
    const nightly = drill('run', 'drills/nightly.ts', '--env', 'stage', '--dry-run');
    expect(nightly.code, nightly.err).toBe(0);
    expect(nightly.out).toMatch(/PodChaos intelgraph\/drillbook-run-dry-\d+-replica-loss/);
    expect(nightly.out).toMatch(/NetworkChaos intelgraph\/drillbook-run-dry-\d+-slow-db/);
    const outage = drill('run', 'drills/gameday-dependency-outage.ts', '--env', 'stage', '--dry-run');
    expect(outage.code, outage.err).toBe(0);
    expect(outage.out).toMatch(/PodChaos .*"action":"pod-failure"/);
    // Validated against the published CRDs where this machine has them (named by DRILLBOOK_CHAOS_MESH_CRDS); a clone on its own says so.
    for (const out of [nightly.out, outage.out]) {
      expect(out).toMatch(
        haveChaosMeshCrds ? /valid against the Chaos Mesh CRD schema/ : /not validated: the cluster was not reachable .*set DRILLBOOK_CHAOS_MESH_CRDS/,
      );
      expect(out).not.toMatch(/INVALID/);
    }
    const migration = drill('run', 'drills/gameday-migration-rollback.ts', '--env', 'stage', '--dry-run');
    expect(migration.code, migration.err).toBe(0);
    expect(migration.out).toMatch(/fault: migration on db \(one\) via sql-migration/);
    expect(migration.out).toMatch(
      /stays until mitigated \(the harness reverts it at 1m30s\); on GraphApiRouteFailing via Alertmanager: scripts\/rollback-on-alert\.ts/,
    );
    // The DR restore is the local stage's own PITR: not offered on Kubernetes, and it says so.
    const dr = drill('run', 'drills/dr-timed-restore.ts', '--env', 'stage', '--dry-run');
    expect(dr.code).toBe(2);
    expect(dr.err + dr.out).toMatch(/stage/);
  });

  it('run refuses an environment the drill does not allow (exit 2) and an unknown command (exit 2)', () => {
    const r = drill('run', 'drills/example.ts', '--env', 'prod', '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no environment named 'prod'/);
    expect(drill('frobnicate').code).toBe(2);
  });

  it('list shows the drills with their environments', () => {
    const r = drill('list');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/nightly\s+drills\/nightly\.ts\s+local,stage/);
  });

  it('recover says when there is nothing to recover', () => {
    const r = drill('recover', '--journal', join(tmp, 'journal.jsonl'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/nothing to recover/);
  });
});

describe('drill coverage', () => {
  it('exits 1 with a clear reason when a pack sampled no critical journey (nothing measured is not a pass)', () => {
    const pack = join(tmp, 'empty-pack');
    mkdirSync(join(pack, 'chaos-dr'), { recursive: true });
    const r = drill('coverage', pack, '--min', '0.7');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no run .* sampled a critical journey/);
    expect(drill('coverage', pack, '--min', '7').code).toBe(2);
  });
});
