// Whether PromQL expressions parse, decided by Prometheus's own parser: promtool checks a rule
// file holding each expression as a recording rule (one group each, so an error names which).
// No server needed; the I/O edge of the dashboard checks.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { EnvironmentError } from '../errors.ts';

export interface ParseFailure {
  index: number;
  error: string;
}

const CANDIDATES = ['promtool', '/usr/bin/promtool'];

function run(bin: string, args: string[]): Promise<{ code: number | 'missing'; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') resolve({ code: 'missing', stdout, stderr });
      else resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr });
    });
  });
}

/** The expressions that do not parse, by index, with promtool's message. */
export async function unparsable(exprs: readonly string[]): Promise<ParseFailure[]> {
  if (exprs.length === 0) return [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drillbook-promql-'));
  try {
    const file = path.join(dir, 'expressions.yaml');
    await writeFile(file, stringify({ groups: exprs.map((expr, i) => ({ name: `e${i}`, rules: [{ record: 'drillbook_dashboard_expression', expr }] })) }));
    for (const bin of CANDIDATES) {
      const r = await run(bin, ['check', 'rules', '--lint=none', file]);
      if (r.code === 'missing') continue;
      if (r.code === 0) return [];
      const failures: ParseFailure[] = [];
      for (const m of `${r.stdout}\n${r.stderr}`.matchAll(/group "e(\d+)", rule \d+, "[^"]*": (.*)/g))
        failures.push({ index: Number(m[1]), error: m[2]!.trim() });
      if (failures.length === 0) throw new EnvironmentError(`promtool check rules failed without naming an expression:\n${r.stderr || r.stdout}`);
      return failures;
    }
    throw new EnvironmentError(
      "promtool is not installed, so dashboard queries cannot be checked: run 'apt-get install prometheus' (Debian ships promtool with it)",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
