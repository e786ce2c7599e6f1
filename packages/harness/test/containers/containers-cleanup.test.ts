// Cleanup of the containers environment is guaranteed (issue #17 item 4): Ctrl-C ends a run
// with its containers removed by the harness itself; a harness killed with SIGKILL leaves them,
// labelled with its pid, and `drill recover` removes them — nothing is left of either run.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.ts';
import { containersProject, type ContainersProject } from './project.ts';

let project: ContainersProject;

beforeAll(async () => {
  project = await containersProject({ monitoring: 'none' });
  project.drill(
    'long',
    `export default defineGameDay({
      name: 'long',
      environments: ['containers'],
      steadyState: [probe.http({ name: 'orders', target: 'api', path: '/orders', every: '500ms' })],
      phases: [{ name: 'hold', duration: '5m' }],
    });`,
  );
}, 180_000);
afterAll(async () => {
  await project?.remove();
});

/** Starts the long drill and resolves once both its services' containers run (it is mid-run then). */
async function midRun(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = project.start(['run', 'drills/long.ts', '--env', 'containers']);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  await until(
    'the run to reach its hold phase',
    async () => (/▶ hold/.test(out) ? true : child.exitCode !== null ? Promise.reject(new Error(`drill exited early:\n${out}`)) : undefined),
    120_000,
  );
  return { child, output: () => out };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

describe('nothing is left behind', () => {
  it('Ctrl-C: the harness removes its containers itself', async () => {
    const { child, output } = await midRun();
    expect((await project.leftovers(child.pid!)).containers).toHaveLength(2);
    child.kill('SIGINT');
    await exited(child);
    expect(output()).toMatch(/stopping the environment/);
    expect(await project.leftovers(child.pid!)).toEqual({ containers: [], networks: [], volumes: [] });
  }, 240_000);

  it('SIGKILL mid-run leaves labelled containers; drill recover removes them all', async () => {
    const { child } = await midRun();
    child.kill('SIGKILL');
    await exited(child);
    const left = await project.leftovers(child.pid!);
    expect(left.containers).toHaveLength(2);

    const recover = project.run(['recover']);
    expect(recover.code).toBe(0);
    expect(recover.out).toMatch(/removed 2 containers, 0 networks, 0 volumes left by containers runs/);
    expect(await project.leftovers(child.pid!)).toEqual({ containers: [], networks: [], volumes: [] });
  }, 240_000);
});
