// The detached simulation's process (started by simUp): the stage (with its lifeline to this
// process) and the simulated API server in stage mode. Options arrive in a 0600 file named by
// DRILLBOOK_SIM_OPTIONS_FILE (read, then removed); readiness goes back as a JSON line on fd 3;
// sim.json records it. SIGTERM, SIGINT or SIGHUP stop the simulation, then the stage.
import { createWriteStream, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { EnvironmentError } from '../binaries.ts';
import { startTimeOf } from '../proc.ts';
import { writePrivateFile } from '../secrets.ts';
import { simStateFile, type SimMainOptions, type SimState } from './detached.ts';
import { startSimStage, type SimStage } from './start.ts';

let channel: WriteStream | undefined;
try {
  channel = createWriteStream('', { fd: 3 });
  channel.on('error', () => (channel = undefined));
} catch {
  channel = undefined;
}
const message = (m: object) => channel?.write(JSON.stringify(m) + '\n');
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

function readOptions(): SimMainOptions {
  const file = process.env.DRILLBOOK_SIM_OPTIONS_FILE;
  if (!file) throw new Error('DRILLBOOK_SIM_OPTIONS_FILE is not set: the simulation is started by simUp()');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SimMainOptions;
  } finally {
    rmSync(file, { force: true });
  }
}

const opts = readOptions();
let sim: SimStage | undefined;
let stopping: Promise<void> | undefined;

function stop(reason: string): Promise<void> {
  stopping ??= (async () => {
    log(`stopping the simulation: ${reason}`);
    await sim?.stop().catch((err: unknown) => log(`stop: ${(err as Error).message}`));
    rmSync(simStateFile(opts.simStateDir), { force: true });
    log('simulation stopped');
    process.exit(0);
  })();
  return stopping;
}
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
process.on('uncaughtException', (err) => {
  log(`uncaught error: ${err.stack ?? err}`);
  void stop('uncaught error');
});

try {
  const { simStateDir, ...stageOptions } = opts;
  sim = await startSimStage({ ...stageOptions, log });
  const state: SimState = {
    version: 1,
    pid: process.pid,
    startTime: startTimeOf(process.pid),
    startedAt: new Date().toISOString(),
    url: sim.url,
    kubeconfigPath: sim.kubeconfigPath,
    stageStateDir: opts.stateDir!,
  };
  writePrivateFile(simStateFile(simStateDir), JSON.stringify(state, null, 2));
  log(`simulated API server on ${sim.url}; kubeconfig ${sim.kubeconfigPath}`);
  message({ type: 'ready', state });
} catch (err) {
  message({ type: 'error', environment: err instanceof EnvironmentError, message: (err as Error).message });
  log(`start-up failed: ${(err as Error).stack ?? err}`);
  await stop('start-up failed');
}
