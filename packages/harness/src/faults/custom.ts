// A team's own action as a fault (a DR dry-run script, a feature-flag flip): a zx script
// by path, or a TypeScript function. A script's revert is journaled by path and survives
// a crash; a function's revert can only run in the process that injected it, so after a
// crash it is reported as needing a person, never silently dropped.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { childEnv } from '@drillbook/stage';
import { dirname, join, resolve } from 'node:path';
import type { CustomActionContext, CustomFault, EnvironmentConfig } from '../define/types.ts';
import type { FaultProvider, InjectedFault, RevertRecord } from '../engine/types.ts';

const zxCli = join(dirname(createRequire(import.meta.url).resolve('zx/package.json')), 'build', 'cli.js');

/** Reverts held as functions, by fault id: only meaningful inside this process. */
const inProcessReverts = new Map<string, (ctx: CustomActionContext) => Promise<void>>();

export function runScript(path: string, env: Record<string, string>, signal: AbortSignal, log: (m: string) => void): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [zxCli, '--quiet', resolve(path)], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], signal });
    child.stdout.on('data', (d: Buffer) => log(d.toString().trimEnd()));
    child.stderr.on('data', (d: Buffer) => log(d.toString().trimEnd()));
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`${path} exited with ${code}`))));
  });
}

export const customProvider: FaultProvider = {
  name: 'custom',

  supports(fault, _env: EnvironmentConfig) {
    return fault.kind === 'custom';
  },

  async prepare(fault, faultId): Promise<RevertRecord> {
    const c = fault as CustomFault;
    if (typeof c.revert === 'function') inProcessReverts.set(faultId, c.revert);
    return {
      faultId,
      provider: 'custom',
      data: { name: c.name, revertScript: typeof c.revert === 'string' ? c.revert : null, revertInProcess: typeof c.revert === 'function' },
      ...(c.duration ? { deadline: Date.now() + c.duration } : {}),
      description:
        typeof c.revert === 'string' ? `run ${c.revert}` : typeof c.revert === 'function' ? `revert function of ${c.name}` : `${c.name} has no revert`,
    };
  },

  async inject(fault, record, ctx): Promise<InjectedFault> {
    const c = fault as CustomFault;
    const actx: CustomActionContext = { environment: ctx.environmentName, signal: ctx.signal, log: (m) => ctx.log('info', `${c.name}: ${m}`) };
    if (typeof c.inject === 'string')
      await runScript(c.inject, { DRILLBOOK_ENVIRONMENT: ctx.environmentName, DRILLBOOK_FAULT_ID: record.faultId }, ctx.signal, actx.log);
    else await c.inject(actx);
    return { tInject: ctx.clock.now(), targets: [c.name] };
  },

  async revert(record, ctx) {
    const { name, revertScript, revertInProcess } = record.data as { name: string; revertScript: string | null; revertInProcess: boolean };
    const log = (m: string) => ctx.log('info', `${name}: ${m}`);
    if (revertScript) return runScript(revertScript, { DRILLBOOK_FAULT_ID: record.faultId }, ctx.signal, log);
    if (revertInProcess) {
      const fn = inProcessReverts.get(record.faultId);
      if (!fn)
        throw new Error(
          `${name}: its revert is a function of the process that crashed; revert it by hand, then run 'drill recover --forget ${record.faultId}'`,
        );
      await fn({ environment: '', signal: ctx.signal, log });
      inProcessReverts.delete(record.faultId);
    }
  },

  async status(record) {
    return { active: true, detail: `custom action ${(record.data as { name: string }).name}: state unknown to the harness` };
  },
};
