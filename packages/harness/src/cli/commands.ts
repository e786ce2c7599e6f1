// Every `drill` command, declared once: summary, arguments, flags. `drill --help`, each
// command's `--help`, its usage line and its parser all come from here. A command's module is
// imported only when that command runs, so `drill validate` and `drill --help` stay fast.
import { resolve } from 'node:path';
import type { CliIo } from './io.ts';
import { defineCommand, parseCommand, type CommandSpec, type Parsed } from './spec.ts';

const json = { type: 'boolean', description: 'print JSON on stdout instead of text' } as const;
const env = { type: 'string', default: 'local', placeholder: 'name', description: 'environment from drillbook.config.ts' } as const;
const release = {
  type: 'string',
  default: 'local',
  placeholder: 'tag',
  description: 'release the evidence is filed under: evidence-pack/release-<tag>',
} as const;
const reseal = {
  type: 'boolean',
  description: 'sign the release even though its pack no longer verifies (a file deleted, changed or added); recorded in the pack for reviewers',
} as const;
const evidenceDir = { type: 'string', placeholder: 'dir', description: "evidence directory (default: the config's evidenceDir)" } as const;
const signingKey = {
  type: 'string',
  placeholder: 'file',
  description: 'private key (PEM) the pack is signed with (default: $DRILLBOOK_SIGNING_KEY_FILE, else .drillbook/keys/signing.key)',
} as const;

export const listSpec = defineCommand({
  name: 'list',
  summary: 'list the drills under drills/ with title and environments',
  args: [],
  flags: { json, dir: { type: 'string', default: 'drills', placeholder: 'dir', description: 'directory of drills, relative to the project root' } },
});

export const validateSpec = defineCommand({
  name: 'validate',
  summary: 'check definitions without running anything (exit 2 when one is bad)',
  args: [{ name: 'file', variadic: true, description: 'definition files (default: every definition in the project and drillbook.config.ts)' }],
  flags: {
    env: {
      type: 'string',
      placeholder: 'name',
      description:
        'also check each drill that allows this environment as a run there would (a provider per fault, hosts proxies, restore, expected alerts); exit 2 on what a run would refuse',
    },
    json,
  },
});

export const runSpec = defineCommand({
  name: 'run',
  summary: 'run a drill against an environment and write its evidence',
  args: [{ name: 'drill-file', required: true, description: "the file that defines the drill, or a drill's name as 'drill list' shows it" }],
  flags: {
    drill: { type: 'string', placeholder: 'name', description: 'which drill, when the file exports several (default: the first)' },
    env: { type: 'string', placeholder: 'name', description: "environment from drillbook.config.ts (default: the drill's own when it allows one, else local)" },
    'dry-run': { type: 'boolean', description: 'print the plan (timeline, faults, providers, stop conditions) and touch nothing' },
    // Not `release`: its default is the environment's name, so runs of different environments never mix in one pack.
    release: {
      type: 'string',
      placeholder: 'tag',
      description: "release the evidence is filed under: evidence-pack/release-<tag> (default: the environment's name)",
    },
    reseal,
    'signing-key': signingKey,
    json,
    output: {
      type: 'string',
      short: 'o',
      choices: ['yaml', 'json'],
      description:
        'with --dry-run on a kubernetes environment: print only the Chaos Mesh objects, as multi-document YAML or a JSON v1 List (for kubectl apply --dry-run=server -f -)',
    },
  },
});

export const stageSpec = defineCommand({
  name: 'stage',
  summary: 'start, stop or inspect the local stage (PostgreSQL, the service, Prometheus, Alertmanager)',
  args: [
    { name: 'action', required: true, choices: ['up', 'down', 'status'], description: 'up (detached) · down · status (exit 1 unhealthy, 3 none running)' },
  ],
  flags: {
    json,
    replicas: { type: 'string', placeholder: 'N', description: 'service replicas behind the balancer, for up (default 2)' },
    'restart-delay': { type: 'string', placeholder: 'MS', description: 'ms before a dead replica is restarted, for up (default 1000)' },
    'state-dir': { type: 'string', placeholder: 'DIR', description: 'where stage.json and host.log live (default <repo>/.drillbook/stage)' },
  },
});

export const doctorSpec = defineCommand({
  name: 'doctor',
  summary: 'check a Kubernetes environment before a first drill: context, API server, CRDs, RBAC, Prometheus, ready pods (exit 4 on any ✗)',
  args: [],
  flags: {
    env: { type: 'string', required: true, placeholder: 'name', description: 'a kubernetes environment from drillbook.config.ts' },
    json,
  },
});

export const simSpec = defineCommand({
  name: 'sim',
  summary: "start, stop or inspect the simulated Kubernetes cluster: an API server in front of the local stage's real processes (for --env sim)",
  args: [{ name: 'action', required: true, choices: ['up', 'down', 'status'], description: 'up (detached) · down · status (exit 3 when none is running)' }],
  flags: {
    'no-chaos-mesh': { type: 'boolean', description: 'for up: serve no Chaos Mesh CRDs (what drill doctor says of a cluster without them)' },
    json,
  },
});

export const buildSpec = defineCommand({
  name: 'build',
  summary: 'write out/alerts, out/dashboards and out/k6 from the definitions, checking runbooks',
  args: [],
  flags: {
    root: { type: 'string', placeholder: 'dir', description: 'project root (default: the current directory)' },
    out: { type: 'string', default: 'out', placeholder: 'dir', description: 'output directory, relative to the project root' },
    'runbook-base-url': { type: 'string', placeholder: 'url', description: 'prefix for runbook_url (default: the repository-relative path)' },
    push: { type: 'string', placeholder: 'grafana-url', description: 'then post every dashboard to Grafana (/api/dashboards/db); token from $GRAFANA_TOKEN' },
  },
});

export const keygenSpec = defineCommand({
  name: 'keygen',
  summary: 'make an ed25519 key pair for signing evidence packs',
  args: [],
  flags: {
    out: { type: 'string', placeholder: 'dir', description: 'where to write the key pair (default .drillbook/keys)' },
    rotate: { type: 'boolean', description: 'replace the pair with a new one; the old public key stays in keyring.pub, so its packs still verify' },
  },
});

export const verifySpec = defineCommand({
  name: 'verify',
  summary: 'check an evidence pack: digests, signature, and every figure re-derived from raw data',
  args: [{ name: 'pack-dir', required: true, description: 'the evidence pack, e.g. evidence-pack/release-local' }],
  flags: {
    key: { type: 'string', multiple: true, placeholder: 'public.pem', description: 'public key the signature may verify against; give it again for more keys' },
    keyring: {
      type: 'string',
      placeholder: 'file',
      description: 'several PEM public keys in one file (keyring.pub), matched by keyid: a rotated-out key still verifies',
    },
    'allow-unsigned': { type: 'boolean', description: 'accept a pack without a signature' },
    json,
  },
});

export const reviewSpec = defineCommand({
  name: 'review',
  summary: 'Go/No-Go: every drill run in the release and the eight readiness checks, decided from its evidence pack (go-no-go.md)',
  args: [],
  flags: {
    release: { type: 'string', required: true, placeholder: 'tag', description: 'release whose pack is reviewed' },
    'evidence-dir': evidenceDir,
    now: { type: 'string', placeholder: 'ISO-time', description: 'decide as of this time (default: now)' },
    reseal,
    'signing-key': signingKey,
    json,
  },
});

export const loadSpec = defineCommand({
  name: 'load',
  summary: 'run one load profile on its own (k6 executors, thresholds, k6-style summary)',
  args: [{ name: 'profile-file', required: true, description: 'the file that defines the load profile' }],
  flags: {
    target: { type: 'string', placeholder: 'base-url', description: 'base URL for a profile whose request is a path (required unless it gives a full url)' },
    profile: { type: 'string', placeholder: 'name', description: 'which profile, when the file exports several (default: the first)' },
    workers: { type: 'string', placeholder: 'N', description: "worker threads to spread the VUs over (default: the profile's workers, 1)" },
    json,
  },
});

export const synthSpec = defineCommand({
  name: 'synth',
  summary: 'run synthetic journeys (HTTP and browser) once against a target',
  args: [{ name: 'journey-file', required: true, variadic: true, description: 'files that define journeys' }],
  flags: {
    target: { type: 'string', required: true, placeholder: 'base-url', description: 'base URL the journeys run against' },
    json,
    screenshots: { type: 'string', default: '.drillbook/screenshots', placeholder: 'dir', description: 'where browser journeys save a screenshot on failure' },
  },
});

export const coverageSpec = defineCommand({
  name: 'coverage',
  summary: 'trace coverage gate over the runs in a pack (exit 1 below --min)',
  args: [{ name: 'pack-dir', required: true, description: 'the evidence pack' }],
  flags: { min: { type: 'string', default: '0.7', placeholder: 'share', description: 'lowest share of complete traces that passes, between 0 and 1' }, json },
});

export const historySpec = defineCommand({
  name: 'history',
  summary: 'the run index across packs: MTTR/TTD trends per drill, game-days per quarter, last backout drill',
  args: [],
  flags: { 'evidence-dir': evidenceDir, json },
});

export const bakeSpec = defineCommand({
  name: 'bake',
  summary: 'a bake (72 h by default) with hourly checkpoints; --resume after a crash; --clock virtual rehearses on simulated telemetry',
  args: [{ name: 'bake-file', required: true, description: 'the file that defines the bake' }],
  flags: {
    resume: { type: 'boolean', description: 'continue an unfinished bake from its last checkpoint' },
    clock: { type: 'string', default: 'real', choices: ['real', 'virtual'], description: 'virtual: a rehearsal on simulated telemetry, not a measurement' },
    env,
    release,
    duration: { type: 'string', placeholder: 'duration', description: "bake length, e.g. 72h (default: the bake's own)" },
    checkpoint: { type: 'string', placeholder: 'duration', description: "time between checkpoints, e.g. 1h (default: the bake's own)" },
    reseal,
    'signing-key': signingKey,
    json,
  },
});

export const scheduleSpec = defineCommand({
  name: 'schedule',
  summary: 'run drills on cron in-process (no overlap per drill, missed runs reported), or emit a CronJob / CI workflow',
  args: [{ name: 'drill-file', required: true, variadic: true, description: 'the drills to schedule' }],
  flags: {
    cron: { type: 'string', default: '0 2 * * *', placeholder: 'expr', description: 'when every drill runs (cron expression)' },
    env,
    emit: {
      type: 'string',
      choices: ['k8s', 'github'],
      description: 'print Kubernetes objects (CronJobs, RBAC, evidence claim; --env a kubernetes environment) or a GitHub Actions workflow instead of running',
    },
    image: {
      type: 'string',
      placeholder: 'image',
      description: 'the runner image the CronJobs run (--emit k8s, required): built from the Dockerfile --dockerfile writes',
    },
    namespace: { type: 'string', default: 'drills', placeholder: 'ns', description: 'namespace of the CronJobs, their ServiceAccount and claim (--emit k8s)' },
    pvc: { type: 'string', placeholder: 'claim', description: 'an existing PersistentVolumeClaim for the evidence (--emit k8s; default: one is emitted)' },
    'signing-key-secret': {
      type: 'string',
      default: 'drillbook-signing-key',
      placeholder: 'name',
      description: 'the Secret (key signing.key) holding the private signing key, mounted read-only (--emit k8s)',
    },
    dockerfile: { type: 'string', placeholder: 'path', description: 'also write the runner image’s Dockerfile there (--emit k8s; never overwrites a file)' },
  },
});

export const recoverSpec = defineCommand({
  name: 'recover',
  summary: 'carry out every revert still pending in the rollback journal',
  args: [],
  flags: {
    forget: { type: 'string', placeholder: 'fault-id', description: 'mark one pending revert as done by hand instead of reverting it' },
    all: { type: 'boolean', description: 'also revert faults whose harness is still running' },
    journal: { type: 'string', placeholder: 'file', description: 'rollback journal file (default .drillbook/journal.jsonl)' },
    env: {
      type: 'string',
      placeholder: 'name',
      description:
        "also delete a Kubernetes environment's chaos objects left by runs that are gone, found by their drillbook labels (works without the journal)",
    },
  },
});

export const remediateSpec = defineCommand({
  name: 'remediate',
  summary: "an Alertmanager webhook receiver that runs the drills' remediation scripts (remediate: { onAlert, run }) and logs each action",
  args: [{ name: 'drill-file', variadic: true, description: 'drills whose remediations are served (default: every drill under drills/)' }],
  flags: {
    listen: { type: 'string', required: true, placeholder: 'addr', description: 'host:port to listen on; a bare port listens on 127.0.0.1' },
    'token-env': {
      type: 'string',
      default: 'DRILLBOOK_REMEDIATE_TOKEN',
      placeholder: 'NAME',
      description: "environment variable holding the bearer token Alertmanager sends (its webhook_config's http_config)",
    },
    'token-file': { type: 'string', placeholder: 'file', description: 'read the bearer token from this file instead' },
    env: { type: 'string', default: 'stage', placeholder: 'name', description: "environment from drillbook.config.ts whose targets' URLs the scripts get" },
  },
});

export const mitigateSpec = defineCommand({
  name: 'mitigate',
  summary: "mark the moment a running drill's fault was mitigated by hand (from another terminal), and optionally revert it",
  args: [],
  flags: {
    run: { type: 'string', placeholder: 'id', description: 'the run to mark (default: the newest running one that waits for a mitigation)' },
    note: { type: 'string', required: true, placeholder: 'text', description: 'what was done, e.g. "rolled back 042"' },
    revert: { type: 'boolean', description: "also have the harness run the fault's own revert now" },
    phase: { type: 'string', placeholder: 'name', description: 'only for this phase (default: whichever waits now)' },
  },
});

export const initSpec = defineCommand({
  name: 'init',
  summary: 'start a project: drillbook.config.ts, a first game-day, an SLO with its runbook, a journey, a load profile (never overwrites)',
  args: [],
  flags: {
    env: { type: 'string', required: true, choices: ['local', 'hosts', 'kubernetes'], description: 'the environment kind your service runs in' },
    url: { type: 'string', placeholder: 'url', description: "the service's base URL (hosts; kubernetes optional), e.g. http://127.0.0.1:8080" },
    'pid-file': { type: 'string', placeholder: 'file', description: "pid file naming the service's process (hosts)" },
    context: { type: 'string', placeholder: 'name', description: 'kubeconfig context (kubernetes)' },
    namespace: { type: 'string', placeholder: 'ns', description: "the service's namespace (kubernetes)" },
    selector: { type: 'string', placeholder: 'key=value', description: "label selecting the service's pods (kubernetes)" },
    service: { type: 'string', default: 'my-service', placeholder: 'name', description: "the service's name in the SLO and runbook" },
    path: { type: 'string', placeholder: 'path', description: 'path the probe, journey and load request (default / ; /readyz for local)' },
    dir: { type: 'string', placeholder: 'dir', description: 'where to write the project (default: the current directory)' },
  },
});

export const schemaSpec = defineCommand({
  name: 'schema',
  summary: "print the JSON Schema of a command's --json output (docs/json-output.md)",
  args: [
    {
      name: 'command',
      required: true,
      choices: ['run', 'bake', 'load', 'synth', 'verify', 'review', 'history'],
      description: 'the command whose output it describes',
    },
  ],
  flags: {},
});

export interface Command {
  spec: CommandSpec;
  /** Parses argv (UsageError on a bad command line), then loads the command's module and runs it. */
  run: (argv: readonly string[], io: CliIo) => Promise<number>;
}

type Handler<S extends CommandSpec> = (args: Parsed<S>, io: CliIo) => Promise<number>;

function bind<S extends CommandSpec>(spec: S, load: () => Promise<Handler<S>>): Command {
  return {
    spec,
    run: async (argv, io) => {
      const args = parseCommand(spec, argv);
      const handler = await load();
      if (!('signing-key' in spec.flags)) return handler(args, io);
      // --signing-key is DRILLBOOK_SIGNING_KEY_FILE for this one command: every seal reads the key there (evidence/keys.ts).
      // A named key is read before the command starts: a bad one is exit 2 now, not after a drill ran.
      const keyFile = (args.flags as Record<string, unknown>)['signing-key'];
      const named = typeof keyFile === 'string' ? resolve(keyFile) : process.env.DRILLBOOK_SIGNING_KEY_FILE;
      if (named) (await import('../evidence/keys.ts')).readPrivateKeyFile(named, typeof keyFile === 'string' ? '--signing-key' : 'DRILLBOOK_SIGNING_KEY_FILE');
      if (typeof keyFile !== 'string') return handler(args, io);
      const before = process.env.DRILLBOOK_SIGNING_KEY_FILE;
      process.env.DRILLBOOK_SIGNING_KEY_FILE = resolve(keyFile);
      try {
        return await handler(args, io);
      } finally {
        if (before === undefined) delete process.env.DRILLBOOK_SIGNING_KEY_FILE;
        else process.env.DRILLBOOK_SIGNING_KEY_FILE = before;
      }
    },
  };
}

/** In the order `drill --help` lists them. */
export const commands: readonly Command[] = [
  bind(initSpec, async () => (await import('./init.ts')).initCommand),
  bind(listSpec, async () => (await import('./definitions.ts')).listCommand),
  bind(validateSpec, async () => (await import('./definitions.ts')).validateCommand),
  bind(runSpec, async () => (await import('./run.ts')).runCommand),
  bind(stageSpec, async () => (await import('./stage.ts')).stageCommand),
  bind(doctorSpec, async () => (await import('./doctor.ts')).doctorCommand),
  bind(simSpec, async () => (await import('./sim.ts')).simCommand),
  bind(buildSpec, async () => (await import('./build.ts')).buildCommand),
  bind(keygenSpec, async () => (await import('./evidence.ts')).keygenCommand),
  bind(verifySpec, async () => (await import('./evidence.ts')).verifyCommand),
  bind(reviewSpec, async () => (await import('./review.ts')).reviewCommand),
  bind(loadSpec, async () => (await import('./load.ts')).loadCommand),
  bind(synthSpec, async () => (await import('./synthetics.ts')).synthCommand),
  bind(coverageSpec, async () => (await import('./synthetics.ts')).coverageCommand),
  bind(historySpec, async () => (await import('./history.ts')).historyCommand),
  bind(schemaSpec, async () => (await import('./schema.ts')).schemaCommand),
  bind(bakeSpec, async () => (await import('./bake.ts')).bakeCommand),
  bind(scheduleSpec, async () => (await import('./schedule.ts')).scheduleCommand),
  bind(recoverSpec, async () => (await import('./recover.ts')).recoverCommand),
  bind(remediateSpec, async () => (await import('./remediate.ts')).remediateCommand),
  bind(mitigateSpec, async () => (await import('./remediate.ts')).mitigateCommand),
];
