// The Docker engine as the containers environment sees it, through testcontainers' runtime
// client (dockerode underneath): connecting, the labels that name a run's containers, the
// label sweep that removes what a crashed run left, and the engine's own container events.
import { isSameProcessRunning, processStartTime } from '../../engine/process-identity.ts';
import { EnvironmentError } from '../../errors.ts';

/** Every container, network and volume a run creates carries these. */
export const LABELS = {
  session: 'dev.drillbook.session',
  ownerPid: 'dev.drillbook.owner-pid',
  ownerStart: 'dev.drillbook.owner-start',
  service: 'dev.drillbook.service',
  replica: 'dev.drillbook.replica',
} as const;

type Runtime = Awaited<ReturnType<(typeof import('testcontainers'))['getContainerRuntimeClient']>>;
export type Dockerode = Runtime['container']['dockerode'];

export interface Engine {
  docker: Dockerode;
  serverVersion: string;
  /** Whether testcontainers' reaper (Ryuk) runs: only when its image is on this machine (nothing is pulled). */
  reaper: boolean;
}

const SETUP_HINT =
  "start one as root with 'dockerd &' (Debian: apt-get install -y docker.io), or run 'node tools/setup.mjs' as root, which does both; see docs/containers.md";

/**
 * Connects to the engine testcontainers finds (DOCKER_HOST or the local socket). The reaper is
 * used when its image is already here; otherwise it is switched off and the labels do its job.
 */
export async function connectEngine(): Promise<Engine> {
  const tc = await import('testcontainers');
  let client: Runtime;
  try {
    client = await tc.getContainerRuntimeClient();
  } catch (err) {
    throw new EnvironmentError(`no Docker engine answers (${(err as Error).message.split('\n')[0]}): ${SETUP_HINT}`);
  }
  const docker = client.container.dockerode;
  // testcontainers reads this when it first needs the reaper (at the first container start), not before.
  const image = process.env.RYUK_CONTAINER_IMAGE ?? 'testcontainers/ryuk:0.14.0';
  const reaper =
    process.env.TESTCONTAINERS_RYUK_DISABLED !== 'true' &&
    (await docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        () => false,
      ));
  if (!reaper) process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  return { docker, serverVersion: String(client.info.containerRuntime.serverVersion), reaper };
}

/** The engine if one answers, without failing: for `drill recover`, which also runs on machines without Docker. */
export async function engineIfAny(): Promise<Dockerode | undefined> {
  const tc = await import('testcontainers');
  return tc.getContainerRuntimeClient().then(
    (c) => c.container.dockerode,
    () => undefined,
  );
}

/** The labels of everything this process creates in one session. */
export function sessionLabels(session: string): Record<string, string> {
  const start = processStartTime(process.pid);
  return { [LABELS.session]: session, [LABELS.ownerPid]: String(process.pid), ...(start === undefined ? {} : { [LABELS.ownerStart]: String(start) }) };
}

/** True when the harness that created an object with these labels is gone (pid and start time). */
export function ownerGone(labels: Record<string, string> | undefined): boolean {
  const pid = Number(labels?.[LABELS.ownerPid]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  const start = labels?.[LABELS.ownerStart];
  return !isSameProcessRunning(pid, start === undefined ? undefined : Number(start));
}

export interface SweepReport {
  containers: string[];
  networks: string[];
  volumes: string[];
}

/**
 * Removes the containers (with their anonymous volumes), networks and volumes that carry a
 * session label and whose harness is gone, or every one with `includeLive`. Only `session`,
 * when given, limits it to one session.
 */
export async function sweep(docker: Dockerode, opts: { includeLive?: boolean; session?: string } = {}): Promise<SweepReport> {
  const label = [opts.session ? `${LABELS.session}=${opts.session}` : LABELS.session];
  const ours = (labels: Record<string, string> | undefined) => opts.includeLive || opts.session !== undefined || ownerGone(labels);
  const report: SweepReport = { containers: [], networks: [], volumes: [] };
  for (const c of await docker.listContainers({ all: true, filters: { label } }))
    if (ours(c.Labels)) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch((err: { statusCode?: number }) => {
          if (err.statusCode !== 404 && err.statusCode !== 409) throw err; // gone meanwhile, or already being removed
        });
      report.containers.push(c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12));
    }
  for (const n of await docker.listNetworks({ filters: { label } }))
    if (ours(n.Labels)) {
      await docker.getNetwork(n.Id).remove();
      report.networks.push(n.Name);
    }
  const volumes = (await docker.listVolumes({ filters: { label } })).Volumes ?? [];
  for (const v of volumes)
    if (ours(v.Labels ?? undefined)) {
      await docker.getVolume(v.Name).remove();
      report.volumes.push(v.Name);
    }
  return report;
}

/** One container event as the engine reports it: its own time, to the nanosecond. */
export interface ContainerEvent {
  /** Wall-clock ms (the engine's timeNano / 1e6). */
  at: number;
  action: string;
  container: string;
  service: string;
  replica: number;
  exitCode?: number;
}

/** Follows the engine's events for one session's containers until the returned stop is called. */
export async function followEvents(docker: Dockerode, session: string, onEvent: (e: ContainerEvent) => void): Promise<() => void> {
  const stream = (await docker.getEvents({ filters: { type: ['container'], label: [`${LABELS.session}=${session}`] } })) as NodeJS.ReadableStream & {
    destroy(): void;
  };
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    if (pending.length > 65_536) pending = ''; // an engine never sends a line this long; do not grow without bound
    for (const line of lines) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as { Action?: string; timeNano?: number; Actor?: { ID?: string; Attributes?: Record<string, string> } };
      const attrs = e.Actor?.Attributes ?? {};
      onEvent({
        at: Math.round(Number(e.timeNano ?? 0) / 1e6),
        action: e.Action ?? 'unknown',
        container: attrs.name ?? e.Actor?.ID?.slice(0, 12) ?? '',
        service: attrs[LABELS.service] ?? '',
        replica: Number(attrs[LABELS.replica] ?? 0),
        ...(attrs.exitCode !== undefined ? { exitCode: Number(attrs.exitCode) } : {}),
      });
    }
  });
  stream.on('error', () => {}); // the stream ends when the engine goes; the run notices that through its probes
  return () => stream.destroy();
}
