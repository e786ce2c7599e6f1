// `drill init`'s templates: options in, files out. Pure, so a test can read exactly what a new
// project starts with; cli/init.ts is the I/O edge (never overwrites, merges .gitignore).
// Every template imports from '@drillbook/harness' only: the public API a team's repository sees.
import { UsageError } from '../errors.ts';

export type InitEnvironmentKind = 'local' | 'hosts' | 'kubernetes';

export interface InitOptions {
  env: InitEnvironmentKind;
  /** Base URL of the service (hosts, kubernetes). */
  url?: string | undefined;
  /** Pid file naming the service's process (hosts). */
  pidFile?: string | undefined;
  /** Kubeconfig context (kubernetes). */
  context?: string | undefined;
  /** Namespace of the service's pods (kubernetes). */
  namespace?: string | undefined;
  /** Pod selector `key=value` (kubernetes). */
  selector?: string | undefined;
  /** The service's name in the SLO, runbook and file names. */
  service: string;
  /** Path the steady-state probe, journey and load request. */
  path?: string | undefined;
}

export interface InitFile {
  /** Project-relative path. */
  path: string;
  text: string;
}

/** Lines `drill init` makes sure .gitignore has: the private signing key lives under .drillbook/. */
export const GITIGNORE_LINES = ['.drillbook/', 'out/', 'evidence-pack/'] as const;

const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;

/** Checks the flags the chosen environment needs; a UsageError names the flag and the fix. */
export function checkInitOptions(o: InitOptions): void {
  const need = (flag: string, value: string | undefined, example: string) => {
    if (!value) throw new UsageError(`--env ${o.env} needs --${flag}: give e.g. --${flag} ${example}`);
  };
  if (!SERVICE_NAME.test(o.service))
    throw new UsageError(`--service '${o.service}' is not a name: use lower-case letters, digits and '-', e.g. --service checkout`);
  if (o.path !== undefined && !o.path.startsWith('/')) throw new UsageError(`--path '${o.path}' must start with '/', e.g. --path /healthz`);
  if (o.env === 'hosts') {
    need('url', o.url, 'http://127.0.0.1:8080');
    need('pid-file', o.pidFile, './svc.pid');
  }
  if (o.env === 'kubernetes') {
    need('context', o.context, 'stage');
    need('namespace', o.namespace, 'shop');
    need('selector', o.selector, 'app=checkout');
    if (!/^[^=\s]+=[^=\s]+$/.test(o.selector!)) throw new UsageError(`--selector '${o.selector}' must be one label as key=value, e.g. --selector app=checkout`);
  }
  if (o.url !== undefined) {
    let u: URL;
    try {
      u = new URL(o.url);
    } catch {
      throw new UsageError(`--url '${o.url}' is not a URL: write it as http://127.0.0.1:8080`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--url '${o.url}' must be http:// or https://`);
  }
}

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The environment's name in drillbook.config.ts: its kind, so `--env hosts` at init is `--env hosts` at run. */
export function environmentName(o: InitOptions): string {
  return o.env;
}

function environmentBlock(o: InitOptions): string {
  if (o.env === 'local') {
    return `    // The embedded stage (PostgreSQL, Prometheus, Alertmanager, a small service) on loopback.
    local: { kind: 'local', stage: { replicas: 2, restartDelay: '1s', scrapeInterval: '1s' } },`;
  }
  if (o.env === 'hosts') {
    const port = new URL(o.url!).port;
    // listenPort: a pid file that names a process not listening there is refused, so a stale file never kills a stranger.
    const listen = port ? `, listenPort: ${Number(port)}` : '';
    return `    // Your service, already running on a host the harness reaches; faults act on its process.
    hosts: {
      kind: 'hosts',
      // prometheus: 'http://127.0.0.1:9090', // needed once a drill expects alerts
      targets: { api: { url: ${q(o.url!)}, pidFile: ${q(o.pidFile!)}${listen} } },
    },`;
  }
  const [key, value] = o.selector!.split('=') as [string, string];
  const url = o.url ? `, url: ${q(o.url)}` : '';
  // Quoted only when it must be, as prettier writes object keys.
  const label = /^[A-Za-z_$][\w$]*$/.test(key) ? key : q(key);
  return `    // Your cluster: faults through Chaos Mesh, load through the k6-operator.
    kubernetes: {
      kind: 'kubernetes',
      context: ${q(o.context!)},
      namespaces: [${q(o.namespace!)}],
      targets: { api: { selector: { ${label}: ${q(value)} }, namespace: ${q(o.namespace!)}${url} } },
    },`;
}

function probePath(o: InitOptions): string {
  return o.path ?? (o.env === 'local' ? '/readyz' : '/');
}

function configFile(o: InitOptions): string {
  return `// Where drills may run (deny by default: a drill runs only in an environment named here
// and listed by the drill) and where evidence goes.
import { defineConfig } from '@drillbook/harness';

export default defineConfig({
  evidenceDir: 'evidence-pack',
  environments: {
${environmentBlock(o)}
  },
});
`;
}

function gameDayFile(o: InitOptions): string {
  const env = environmentName(o);
  const how =
    o.env === 'hosts' ? `SIGKILL to the process in ${o.pidFile}` : o.env === 'kubernetes' ? 'one pod deleted through Chaos Mesh' : 'one replica killed';
  return `// A first game-day: kill the service (${how}) and measure how long until the
// steady-state probe passes again (TTR). Under a minute end to end.
import { defineGameDay, fault, probe } from '@drillbook/harness';

export default defineGameDay({
  name: 'first-game-day',
  title: 'Kill ${o.service} and watch it come back',
  environments: [${q(env)}],
  steadyState: [probe.http({ name: 'up', target: 'api', path: ${q(probePath(o))}, every: '500ms' })],
  phases: [
    { name: 'warm-up', duration: '5s' },
    { name: 'kill', fault: fault.podKill({ target: 'api', mode: 'one' }), expect: { alerts: [], recoverWithin: '30s' } },
    { name: 'cool-down', duration: '5s' },
  ],
});
`;
}

function runbookPath(o: InitOptions): string {
  return `runbooks/${o.service}-availability.md`;
}

function alertName(o: InitOptions): string {
  return (
    o.service
      .split('-')
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join('') + 'Availability'
  );
}

function sloFile(o: InitOptions): string {
  const sel = `service="${o.service}"`;
  return `// ${o.service}'s availability SLO. The queries assume the service exports
// http_requests_total with service and code labels: change them to your metrics.
import { defineSlo } from '@drillbook/harness';

export const availability = defineSlo({
  service: ${q(o.service)},
  name: 'availability',
  description: 'Share of requests answered without a 5xx',
  objective: 99.9,
  period: '30d',
  sli: {
    // \`or vector(0)\`: before the first 5xx there is no 5xx series, and the ratio must read 0, not empty.
    errors: 'sum(rate(http_requests_total{${sel},code=~"5.."}[{{window}}])) or vector(0)',
    total: 'sum(rate(http_requests_total{${sel}}[{{window}}]))',
  },
  alerting: { name: ${q(alertName(o))}, runbook: ${q(runbookPath(o))} },
});
`;
}

function runbookFile(o: InitOptions): string {
  const sel = `service="${o.service}"`;
  return `# ${alertName(o)}: ${o.service} answers with errors

## Symptom

The share of ${o.service}'s requests answered with a 5xx is burning the 30-day error budget
faster than the SLO allows (alerts/${o.service}.slo.ts).

## Impact

Users get errors from ${o.service}. At a 14.4× burn the month's budget is gone in about two days.

## Diagnosis

Which responses fail, and since when:

\`\`\`promql
sum by (code) (rate(http_requests_total{${sel}}[5m]))
\`\`\`

Is the process up and answering at all? Check the probe path ${probePath(o)} by hand.

## Mitigation

Restart the service, or roll back the last deploy if the errors began with it.

## Rollback

Redeploy the previous release; confirm the 5xx share falls back under 0.1 %.

## Escalation

Page the team that owns ${o.service}; if not acknowledged in 15 minutes, the incident commander on call.
`;
}

function journeyFile(o: InitOptions): string {
  return `// An HTTP journey: the service answers its probe path, quickly.
import { defineJourney } from '@drillbook/harness';

export default defineJourney({
  name: 'up',
  target: 'api',
  steps: [{ name: 'get', request: { method: 'GET', path: ${q(probePath(o))} }, expect: { status: 200, maxMs: 1000 } }],
});
`;
}

function loadFile(o: InitOptions): string {
  return `// Light steady traffic: a background for drills and a first baseline.
import { defineLoadProfile } from '@drillbook/harness';

export default defineLoadProfile({
  name: 'steady',
  target: 'api',
  request: { method: 'GET', path: ${q(probePath(o))} },
  scenarios: {
    steady: { executor: 'constant-arrival-rate', rate: 5, timeUnit: '1s', duration: '30s', preAllocatedVUs: 2, maxVUs: 10 },
  },
  thresholds: { http_req_duration: ['p(95)<500'], http_req_failed: ['rate<0.01'] },
});
`;
}

/** Every file a new project starts with (not .gitignore: that one is merged, see mergeGitignore). */
export function initFiles(o: InitOptions): InitFile[] {
  return [
    { path: 'drillbook.config.ts', text: configFile(o) },
    { path: 'drills/first-game-day.ts', text: gameDayFile(o) },
    { path: `alerts/${o.service}.slo.ts`, text: sloFile(o) },
    { path: runbookPath(o), text: runbookFile(o) },
    { path: 'synthetics/up.ts', text: journeyFile(o) },
    { path: 'load/steady.ts', text: loadFile(o) },
  ];
}

/** .gitignore with the missing lines appended; undefined when it already has them all. */
export function mergeGitignore(existing: string | undefined): { text: string; added: string[] } | undefined {
  const have = new Set((existing ?? '').split('\n').map((l) => l.trim()));
  const added = GITIGNORE_LINES.filter((l) => !have.has(l) && !have.has(l.slice(0, -1)) && !have.has(`/${l}`));
  if (added.length === 0) return undefined;
  const base = existing === undefined || existing === '' ? '' : existing.endsWith('\n') ? existing : `${existing}\n`;
  return { text: `${base}# drill init: .drillbook/ holds the private signing key\n${added.join('\n')}\n`, added };
}

/** The next three commands a new project runs. */
export function nextCommands(o: InitOptions): string[] {
  const env = environmentName(o);
  return ['npx drill validate', `npx drill run drills/first-game-day.ts --env ${env} --dry-run`, `npx drill run drills/first-game-day.ts --env ${env}`];
}
