// A bake in the pack: `drill verify` derives its verdict again from its checkpoints (and
// each checkpoint from the file written as the bake went), and the report charts its windows.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineBake } from '../../src/define/bake.ts';
import { VirtualClock } from '../../src/engine/clock.ts';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { updateManifest } from '../../src/evidence/manifest.ts';
import { bakeChartData } from '../../src/evidence/report.ts';
import { sealPack } from '../../src/evidence/seal.ts';
import { keygen, loadPublicKey, loadSigningKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import type { BakeRecord } from '../../src/measure/bake.ts';
import { runBake, simulatedTelemetry } from '../../src/session/bake.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-bake-evidence-'));
const pack = join(root, 'release-bake');
let keys: ReturnType<typeof keygen>;
let recordPath: string;
const slo = { kind: 'slo' as const, name: 'availability', id: 'graph-api:availability', objective: 0.999, period: 30 * 86_400_000 };

beforeAll(async () => {
  const clock = new VirtualClock();
  const start = clock.now();
  const plan = defineBake({ name: 'bake-6h', environments: ['local'], duration: '6h', checkpoint: '1h', verdict: { sev1: 0, slos: [slo as never] } });
  const r = await runBake(plan, {
    packDir: pack,
    clock,
    telemetry: simulatedTelemetry({ requestsPerSecond: 40, errorRatio: 0.0004, p50Ms: 18, p95Ms: 70, sev1AtHours: [4], startedAt: () => start }),
  });
  recordPath = r.path;
  keys = keygen(join(root, 'keys'));
  sealPack(pack, loadSigningKey(keys.privateKeyPath)!);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const problemsOf = (dir: string) => verifyPack(dir, { publicKey: loadPublicKey(keys.publicKeyPath) }).problems;
function tamper(edit: (rec: BakeRecord) => void): string {
  const dir = mkdtempSync(join(root, 'copy-'));
  cpSync(pack, dir, { recursive: true });
  const f = join(dir, 'bake', recordPath.split('/').pop()!);
  const rec = JSON.parse(readFileSync(f, 'utf8')) as BakeRecord;
  edit(rec);
  writeFileSync(f, canonicalJson(rec));
  // An insider with the key forces a reseal (recorded in the pack): only re-derivation is left.
  updateManifest(dir);
  sealPack(dir, loadSigningKey(keys.privateKeyPath)!, { reseal: true });
  return dir;
}

describe('a bake in the evidence pack', () => {
  it('verifies clean: record, six checkpoint files and the state, all signed', () => {
    expect(problemsOf(pack)).toEqual([]);
    expect(readdirSync(join(pack, 'bake', 'checkpoints'))).toHaveLength(6);
  });

  it('catches a Sev-1 removed from the record and the verdict turned to pass', () => {
    const dir = tamper((rec) => {
      for (const c of rec.checkpoints) c.sev1 = [];
      rec.verdict = 'pass';
    });
    const details = problemsOf(dir).map((p) => `${p.kind}: ${p.detail.split(':')[0]}`);
    expect(details).toContain('measure-mismatch: checkpoint 4'); // differs from the file written at the time
    expect(details).toContain('measure-mismatch: bake sev1Total');
  });

  it('catches an error count edited in a checkpoint and in its file alike (the ratio no longer follows)', () => {
    const dir = tamper((rec) => {
      rec.checkpoints[2]!.errorRatio = 0;
    });
    expect(problemsOf(dir).map((p) => p.detail)).toContainEqual(
      expect.stringMatching(/^checkpoint 2 errorRatio: recorded 0, derived from the checkpoints 0\.0004/),
    );
  });

  it('charts one point per window, in hours, with the Sev-1 window and the SLO ceiling', () => {
    const rec = JSON.parse(readFileSync(recordPath, 'utf8')) as BakeRecord;
    const d = bakeChartData(rec, 0);
    expect(d.hours).toEqual([1, 2, 3, 4, 5, 6]);
    expect(d.requestsPerSecond).toEqual([40, 40, 40, 40, 40, 40]);
    expect(d.sev1).toEqual([{ from: 4, to: 5, label: 'GraphApiDatabaseDown' }]);
    expect(d.gaps).toEqual([]);
    expect(d.ceilings[0]!.ratio).toBeCloseTo(0.001, 9);
    expect(d.p95).toEqual([70, 70, 70, 70, 70, 70]);
  });
});
