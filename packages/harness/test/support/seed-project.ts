// A throwaway project that holds the repository's own definitions (symlinked, so the seed
// drills are run exactly as committed) but its own .drillbook/, out/ and evidence-pack/:
// tests run the real drills without touching the working tree or each other.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { loadPublicKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import type { RunRecord } from '../../src/evidence/run-record.ts';
import { runDrill } from '../../src/session/run-drill.ts';
import { buildLocalRules } from '../../src/session/local-rules.ts';
import { startSimStage, type SimStage } from '@drillbook/stage';

export const repoRoot = resolve(import.meta.dirname, '..', '..', '..', '..');
const SHARED = ['drillbook.config.ts', 'package.json', 'alerts', 'dashboards', 'drills', 'load', 'runbooks', 'scripts', 'synthetics'];

export function seedProject(prefix = 'drillbook-seed-'): { root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  for (const name of SHARED) symlinkSync(join(repoRoot, name), join(root, name));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Runs drills/<name>.ts on `local` (or the environment named), checks the pack, returns the run record. */
export async function runSeedDrill(root: string, name: string, environment = 'local'): Promise<RunRecord> {
  const notes: string[] = [];
  const r = await runDrill({
    file: join(root, 'drills', `${name}.ts`),
    environment,
    release: `seed-${name}-${environment}`,
    projectRoot: root,
    note: (l) => notes.push(l),
  });
  if (r.exitCode !== 0) throw new Error(`${name} exited ${r.exitCode}:\n${r.summary}\n${notes.join('\n')}`);
  const verified = verifyPack(r.packDir!, { publicKey: loadPublicKey(join(root, '.drillbook', 'keys', 'signing.pub')) });
  expect(verified.problems).toEqual([]);
  for (const f of ['report.html', join('junit', `${r.runId}.xml`)]) expect(existsSync(join(r.packDir!, f))).toBe(true);
  console.log(`${name}: ${r.summary.split('\n').slice(0, 12).join('\n')}`);
  return JSON.parse(readFileSync(r.runFile!, 'utf8')) as RunRecord;
}

/**
 * The simulated cluster over a seed project, as `drill sim up` starts it for the `sim` environment:
 * the project's generated rules, its kubeconfig path, and the local stage's replicas, restart delay
 * and scrape interval. `extra` adds what a test needs (the alert webhook, the Job runner).
 */
export async function startSimForProject(root: string, extra: Partial<Parameters<typeof startSimStage>[0]> = {}): Promise<SimStage> {
  const rules = await buildLocalRules(root, () => {});
  if (!rules.ok) throw new Error(rules.message);
  mkdirSync(join(root, '.drillbook', 'sim'), { recursive: true });
  return startSimStage({
    kubeconfigPath: join(root, '.drillbook', 'sim', 'kubeconfig'),
    stateDir: join(root, '.drillbook', 'sim-stage'),
    rulesDir: rules.rulesDir,
    replicas: 2,
    restartDelay: 5_000,
    scrapeInterval: 1_000,
    archiveTimeout: 5_000,
    ...extra,
  });
}
