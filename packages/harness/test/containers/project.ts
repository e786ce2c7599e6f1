// A throwaway Drillbook project inside the repository (so it resolves @drillbook/harness, with
// the repository's alerts/) whose `containers` environment runs the test images: `orders`
// with PostgreSQL behind it, reached through the harness's proxy. Images get per-run tags and
// the database a per-run password; `remove` deletes the project and the images.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectEngine, LABELS, type Dockerode } from '../../src/faults/containers/docker.ts';
import { repoRoot } from '../support/seed-project.ts';
import { buildPostgresImage, buildServiceImage, POSTGRES_COMMAND } from './images.ts';

export const drillBin = join(repoRoot, 'packages/harness/bin/drill.js');

export interface ContainersProject {
  root: string;
  docker: Dockerode;
  images: { orders: string; postgres: string };
  /** The database's per-run superuser password. */
  password: string;
  /** Writes drills/<name>.ts with the given body (imports of the harness's API are added). */
  drill(name: string, body: string): string;
  /** `drill <args>` in the project, to completion. */
  run(args: string[]): { code: number; out: string };
  /** `drill <args>` in the project, running on. */
  start(args: string[]): ChildProcess;
  /** What carries the labels of the harness process `ownerPid` now (other test files may be running containers too). */
  leftovers(ownerPid: number): Promise<{ containers: string[]; networks: string[]; volumes: string[] }>;
  remove(): Promise<void>;
}

const configSource = (images: ContainersProject['images'], password: string, monitoring: 'stage' | 'none') => `
import { defineConfig } from '@drillbook/harness';
export default defineConfig({
  environments: {
    containers: {
      kind: 'containers',
      monitoring: '${monitoring}',
      services: {
        db: {
          image: '${images.postgres}',
          command: ${JSON.stringify(POSTGRES_COMMAND)},
          ports: ['pg'],
          env: { PGPORT: '{port:pg}' },
          health: { log: 'database system is ready to accept connections' },
        },
        api: {
          image: '${images.orders}',
          ports: ['http', 'metrics'],
          dependsOn: ['db'],
          restart: 'always',
          env: { PORT: '{port:http}', METRICS_PORT: '{port:metrics}', DB_ADDRESS: '{address:db.pg}', DB_PASSWORD: '${password}' },
          health: { http: '/healthz' },
        },
      },
    },
  },
});
`;

export async function containersProject(opts: { monitoring?: 'stage' | 'none' } = {}): Promise<ContainersProject> {
  const { docker } = await connectEngine();
  const tag = randomBytes(4).toString('hex');
  const images = { orders: `drillbook-test/orders:${tag}`, postgres: `drillbook-test/postgres:${tag}` };
  const password = randomBytes(18).toString('base64url');
  await buildServiceImage(images.orders);
  await buildPostgresImage(images.postgres, password);
  const root = mkdtempSync(join(repoRoot, '.tmp-containers-'));
  for (const name of ['package.json', 'alerts', 'runbooks', 'load', 'synthetics']) symlinkSync(join(repoRoot, name), join(root, name));
  mkdirSync(join(root, 'drills'));
  writeFileSync(join(root, 'drillbook.config.ts'), configSource(images, password, opts.monitoring ?? 'none'));
  // The children get the test's environment minus what would change their behaviour here.
  const env = { ...process.env, TESTCONTAINERS_RYUK_DISABLED: 'true', NODE_OPTIONS: '' };
  return {
    root,
    docker,
    images,
    password,
    drill(name, body) {
      const file = join(root, 'drills', `${name}.ts`);
      writeFileSync(file, `import { defineGameDay, fault, probe } from '@drillbook/harness';\n${body}\n`);
      return file;
    },
    run(args) {
      const r = spawnSync(process.execPath, [drillBin, ...args], { cwd: root, env, encoding: 'utf8', timeout: 300_000 });
      return { code: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
    },
    start(args) {
      return spawn(process.execPath, [drillBin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    async leftovers(ownerPid) {
      const label = { filters: { label: [`${LABELS.ownerPid}=${ownerPid}`] } };
      return {
        containers: (await docker.listContainers({ all: true, ...label })).map((c) => c.Names[0] ?? c.Id),
        networks: (await docker.listNetworks(label)).map((n) => n.Name),
        volumes: ((await docker.listVolumes(label)).Volumes ?? []).map((v) => v.Name),
      };
    },
    async remove() {
      rmSync(root, { recursive: true, force: true });
      for (const image of Object.values(images))
        await docker
          .getImage(image)
          .remove({ force: true })
          .catch(() => {});
    },
  };
}
