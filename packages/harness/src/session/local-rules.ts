// The local stage's Prometheus evaluates the project's own alert rules: build them (out/alerts)
// before the stage starts, for drills and bakes alike — a bake without rules could never see
// a Sev-1 and would pass for the wrong reason.
import { join } from 'node:path';
import { DefinitionError } from '../define/errors.ts';

export type LocalRules = { ok: true; rulesDir: string } | { ok: false; message: string };

export async function buildLocalRules(projectRoot: string, note: (line: string) => void): Promise<LocalRules> {
  const { runBuild } = await import('../build/run.ts');
  note('building alert rules and dashboards (out/)…');
  try {
    const built = await runBuild({ projectRoot });
    if (!built.ok)
      return {
        ok: false,
        message: `drill build found problems in alerts/ or runbooks/:\n${built.problems.map((p) => `  ${p.file}: ${p.path}: ${p.problem}\n    fix: ${p.fix}`).join('\n')}\nrun 'drill build' for details`,
      };
  } catch (err) {
    if (err instanceof DefinitionError) return { ok: false, message: err.message };
    throw err;
  }
  return { ok: true, rulesDir: join(projectRoot, 'out', 'alerts') };
}
