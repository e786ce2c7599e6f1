// Runs a team's remediation script (a zx script under scripts/, .ts through tsx) the way the
// harness and `drill remediate --listen` both do: an allow-listed environment (nothing of the
// caller's secrets), a time bound after which its whole process group is killed, and its output
// kept up to a size bound — the tail, where a failing script says why.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { childEnv } from '@drillbook/stage';
import type { DefinitionIssue } from '../define/errors.ts';
import type { DrillPlan, RemediationPlan } from '../define/types.ts';

const require = createRequire(import.meta.url);
const zxCli = join(dirname(require.resolve('zx/package.json')), 'build', 'cli.js');
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;

/** Output kept of one script run: enough for a stack trace, small enough for a run record. */
export const MAX_SCRIPT_OUTPUT = 16 * 1024;

export interface ScriptLimits {
  timeoutMs: number;
  /** Bytes of output kept (the last ones). @default MAX_SCRIPT_OUTPUT */
  maxOutputBytes?: number;
}

export interface ScriptRun {
  /** null when the script was killed (time bound, abort) or could not start. */
  exitCode: number | null;
  ok: boolean;
  /** stdout and stderr as they arrived, the last `maxOutputBytes` of them. */
  output: string;
  /** Why it did not succeed, in one line. */
  error?: string;
  durationMs: number;
}

/** The script's absolute path, refusing one outside the project root. */
export function scriptPath(projectRoot: string, script: string): string {
  const abs = resolve(projectRoot, script);
  const rel = relative(projectRoot, abs);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`remediation script '${script}' is outside the project ${projectRoot}`);
  return abs;
}

/** Keeps the last `max` bytes of what a child writes. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const over = this.size - this.max;
      const head = this.chunks[0]!;
      if (head.length <= over) {
        this.chunks.shift();
        this.size -= head.length;
        this.dropped += head.length;
      } else {
        this.chunks[0] = head.subarray(over);
        this.size -= over;
        this.dropped += over;
      }
    }
  }

  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8').trimEnd();
    return this.dropped ? `[… first ${this.dropped} bytes of output dropped]\n${body}` : body;
  }
}

/**
 * Runs `script` (relative to `projectRoot`) with only `env` plus the allow-listed basics. Never
 * throws: a script that cannot start, fails, or overruns is a ScriptRun with ok false.
 */
export function runRemediationScript(
  projectRoot: string,
  script: string,
  env: Record<string, string>,
  limits: ScriptLimits,
  signal?: AbortSignal,
): Promise<ScriptRun> {
  const started = Date.now();
  const tail = new Tail(limits.maxOutputBytes ?? MAX_SCRIPT_OUTPUT);
  return new Promise<ScriptRun>((done) => {
    let path: string;
    try {
      path = scriptPath(projectRoot, script);
    } catch (err) {
      done({ exitCode: null, ok: false, output: '', error: (err as Error).message, durationMs: 0 });
      return;
    }
    // Its own process group, so a time bound also stops what the script started (psql, curl…).
    const child = spawn(process.execPath, ['--import', tsxLoader, zxCli, '--quiet', path], {
      cwd: projectRoot,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let killedFor: string | undefined;
    const kill = (why: string) => {
      killedFor ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill(`killed after its time bound of ${limits.timeoutMs} ms`), limits.timeoutMs);
    const onAbort = () => kill('stopped: the drill no longer waits for it');
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => tail.push(d));
    child.stderr.on('data', (d: Buffer) => tail.push(d));
    let settled = false;
    const finish = (exitCode: number | null, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const ok = exitCode === 0 && killedFor === undefined;
      const why = killedFor ?? error ?? (ok ? undefined : `${script} exited with ${exitCode}`);
      done({ exitCode, ok, output: tail.text(), ...(why ? { error: why } : {}), durationMs: Date.now() - started });
    };
    child.on('error', (err) => finish(null, `${script} could not start: ${err.message}`));
    child.on('close', (code, sig) => finish(code, sig ? `${script} ended by ${sig}` : undefined));
  });
}

/** The phases of a plan that run a remediation, with their index for error paths. */
export function remediationsOf(plan: DrillPlan): Array<{ index: number; phase: string; remediate: RemediationPlan; target?: string }> {
  const out: Array<{ index: number; phase: string; remediate: RemediationPlan; target?: string }> = [];
  plan.phases.forEach((p, index) => {
    if (!p.remediate) return;
    const target = p.remediate.target ?? (p.fault && 'target' in p.fault ? p.fault.target : undefined);
    out.push({ index, phase: p.name, remediate: p.remediate, ...(target ? { target } : {}) });
  });
  return out;
}

/** Definition issues a run can see before it starts: remediation scripts that are not there. */
export function remediationIssues(plan: DrillPlan, projectRoot: string): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  for (const r of remediationsOf(plan)) {
    let abs: string | undefined;
    try {
      abs = scriptPath(projectRoot, r.remediate.run);
    } catch (err) {
      issues.push({
        path: `phases[${r.index}].remediate.run`,
        problem: (err as Error).message,
        fix: 'give a path relative to the project root, under scripts/',
      });
      continue;
    }
    if (!existsSync(abs))
      issues.push({
        path: `phases[${r.index}].remediate.run`,
        problem: `no script at ${abs}`,
        fix: `create ${r.remediate.run}, or fix the path (relative to the project root ${projectRoot})`,
      });
  }
  return issues;
}

/** What a remediation script is told, as environment variables (the only ones it gets besides PATH, HOME…). */
export function remediationEnv(info: {
  environment: string;
  alert: string;
  labels: Record<string, string>;
  target?: string;
  targetUrl?: string;
  runId?: string;
  faultId?: string;
  phase?: string;
}): Record<string, string> {
  return {
    DRILLBOOK_ENVIRONMENT: info.environment,
    DRILLBOOK_ALERT: info.alert,
    DRILLBOOK_ALERT_LABELS: JSON.stringify(info.labels),
    ...(info.target ? { DRILLBOOK_TARGET: info.target } : {}),
    ...(info.targetUrl ? { DRILLBOOK_TARGET_URL: info.targetUrl } : {}),
    ...(info.runId ? { DRILLBOOK_RUN_ID: info.runId } : {}),
    ...(info.faultId ? { DRILLBOOK_FAULT_ID: info.faultId } : {}),
    ...(info.phase ? { DRILLBOOK_PHASE: info.phase } : {}),
  };
}
