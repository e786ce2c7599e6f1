// `drill`: the one command for drills, the stage, load, builds and evidence.
// Each subcommand lives in its own module and is loaded only when used, so
// `drill validate` stays fast and never starts anything.
import { ExitCode } from '../engine/types.ts';
import { processIo, type CliIo } from './io.ts';

type Command = { summary: string; usage: string; run: (argv: string[], io: CliIo) => Promise<number> };

const commands: Record<string, Command> = {
  list: {
    summary: 'list the drills under drills/ with title and environments',
    usage: 'drill list [--json]',
    run: async (argv, io) => (await import('./definitions.ts')).listCommand(argv, io),
  },
  validate: {
    summary: 'check definitions without running anything (exit 2 on the first bad one)',
    usage: 'drill validate [file…]',
    run: async (argv, io) => (await import('./definitions.ts')).validateCommand(argv, io),
  },
  run: {
    summary: 'run a drill against an environment and write its evidence',
    usage: 'drill run <drill-file> [--drill name] [--env local] [--dry-run] [--release tag] [--json]',
    run: async (argv, io) => (await import('./run.ts')).runCommand(argv, io),
  },
  stage: {
    summary: 'start, stop or inspect the local stage (PostgreSQL, the service, Prometheus, Alertmanager)',
    usage: 'drill stage up|down|status [--json] [--replicas N] [--restart-delay MS] [--state-dir DIR]',
    run: async (argv, io) => (await import('@drillbook/stage')).runStageCommand(argv, io),
  },
  build: {
    summary: 'write out/alerts, out/dashboards and out/k6 from the definitions, checking runbooks',
    usage: 'drill build [--root dir] [--out dir] [--runbook-base-url url]',
    run: async (argv, io) => (await import('../build/run.ts')).runBuildCommand(argv, io),
  },
  keygen: {
    summary: 'make an ed25519 key pair for signing evidence packs',
    usage: 'drill keygen [--out dir]',
    run: async (argv, io) => (await import('./evidence.ts')).keygenCommand(argv, io),
  },
  verify: {
    summary: 'check an evidence pack: digests, signature, and every figure re-derived from raw data',
    usage: 'drill verify <pack-dir> [--key public.pem] [--allow-unsigned] [--json]',
    run: async (argv, io) => (await import('./evidence.ts')).verifyCommand(argv, io),
  },
  review: {
    summary: 'Go/No-Go: the eight readiness checks decided from an evidence pack (go-no-go.md)',
    usage: 'drill review --release <tag> [--evidence-dir dir] [--now ISO-time] [--json]',
    run: async (argv, io) => (await import('./review.ts')).reviewCommand(argv, io),
  },
  load: {
    summary: 'run one load profile on its own (k6 executors, thresholds, k6-style summary)',
    usage: 'drill load <profile-file> --target <base-url> [--profile name] [--json]',
    run: async (argv, io) => (await import('./load.ts')).loadCommand(argv, io),
  },
  synth: {
    summary: 'run synthetic journeys once against a target',
    usage: 'drill synth <journey-file…> --target <base-url> [--json]',
    run: async (argv, io) => (await import('./synthetics.ts')).synthCommand(argv, io),
  },
  coverage: {
    summary: 'trace coverage gate over the runs in a pack (exit 1 below --min)',
    usage: 'drill coverage <pack-dir> [--min 0.7] [--json]',
    run: async (argv, io) => (await import('./synthetics.ts')).coverageCommand(argv, io),
  },
  history: {
    summary: 'the run index across packs: MTTR/TTD trends per drill, game-days per quarter, last backout drill',
    usage: 'drill history [--evidence-dir dir] [--json]',
    run: async (argv, io) => (await import('./history.ts')).historyCommand(argv, io),
  },
  bake: {
    summary: 'a bake (72 h by default) with hourly checkpoints; --resume after a crash; --clock virtual rehearses on simulated telemetry',
    usage: 'drill bake <bake-file> [--resume] [--clock real|virtual] [--env local] [--release tag] [--duration 72h] [--checkpoint 1h]',
    run: async (argv, io) => (await import('./bake.ts')).bakeCommand(argv, io),
  },
  schedule: {
    summary: 'run drills on cron in-process (no overlap per drill, missed runs reported), or emit a CronJob / CI workflow',
    usage: 'drill schedule <drill-file…> [--cron "0 2 * * *"] [--env local] [--emit k8s|github]',
    run: async (argv, io) => (await import('./schedule.ts')).scheduleCommand(argv, io),
  },
  recover: {
    summary: 'carry out every revert still pending in the rollback journal',
    usage: 'drill recover [--forget fault-id]',
    run: async (argv, io) => (await import('./recover.ts')).recoverCommand(argv, io),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ['usage: drill <command> [options]', '', 'commands:', ...lines, '', "exit codes: 0 pass · 1 drill failed · 2 usage or definition error · 3 aborted · 4 environment error"].join('\n');
}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? ExitCode.pass : ExitCode.usage;
  }
  const command = commands[name];
  if (!command) {
    io.err(`drill: unknown command '${name}'\n\n${usage()}`);
    return ExitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: ${command.usage}\n\n${command.summary}`);
    return ExitCode.pass;
  }
  return command.run(rest, io);
}
