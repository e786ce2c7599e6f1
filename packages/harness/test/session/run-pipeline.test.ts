// The run pipeline's contract: the dry run rejects what the real run rejects (one prepareRun),
// preflight turns an environment that cannot tell the truth into exit 4, load thresholds and
// a Prometheus lost mid-run reach the verdict. Drills are written into a throwaway project
// inside the repository (so they resolve @drillbook/harness) with the repository's alerts/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/evidence/run-record.ts';
import { junitXml } from '../../src/evidence/junit.ts';
import { runDrill } from '../../src/session/run-drill.ts';
import { repoRoot } from '../support/seed-project.ts';

const root = mkdtempSync(join(repoRoot, '.tmp-pipeline-'));
let target: Server;
let targetUrl = '';

const config = (hostsTarget: string) => `
import { defineConfig } from '@drillbook/harness';
export default defineConfig({
  evidenceDir: 'evidence-pack',
  environments: {
    local: { kind: 'local', stage: { replicas: 2, restartDelay: '1s', scrapeInterval: '1s' } },
    team: { kind: 'hosts', prometheus: 'http://127.0.0.1:1', targets: { api: { url: '${hostsTarget}' } } },
    teamNoProm: { kind: 'hosts', targets: { api: { url: '${hostsTarget}' }, worker: { commandLine: 'drillbook-blast-radius-marker' } } },
  },
});
`;

function drillFile(name: string, body: string): string {
  const file = join(root, 'drills', `${name}.ts`);
  writeFileSync(file, `import { defineDrill, defineGameDay, defineLoadProfile, fault, probe } from '@drillbook/harness';\n${body}\n`);
  return file;
}

async function run(file: string, environment: string, dryRun = false) {
  const notes: string[] = [];
  const r = await runDrill({ file, environment, release: 'pipeline', dryRun, projectRoot: root, note: (l) => notes.push(l) });
  return { ...r, notes };
}

beforeAll(async () => {
  target = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  for (const name of ['package.json', 'alerts', 'runbooks', 'load', 'synthetics']) symlinkSync(join(repoRoot, name), join(root, name));
  mkdirSync(join(root, 'drills'));
  writeFileSync(join(root, 'drillbook.config.ts'), config(targetUrl));
});
afterAll(async () => {
  await new Promise((r) => target.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe('dry run and real run accept the same drills', () => {
  it('a restore drill on a hosts environment: exit 2 from both, naming the field', async () => {
    const file = drillFile(
      'restore-on-hosts',
      `export default defineDrill({ name: 'restore-on-hosts', environments: ['teamNoProm'], steadyState: [probe.http({ name: 'up', target: 'api', path: '/' })],
        restore: { kind: 'postgres-pitr', database: 'db' } });`,
    );
    const dry = await run(file, 'teamNoProm', true);
    const real = await run(file, 'teamNoProm');
    expect(dry.exitCode).toBe(2);
    expect(real.exitCode).toBe(2);
    expect(dry.summary).toBe(real.summary);
    expect(dry.summary).toMatch(/restore-on-hosts\.ts: restore: a postgres-pitr restore drill runs on the local stage/);
  });

  it('an expected alert that no alerts/ definition makes: exit 2 from both, with the known names', async () => {
    const file = drillFile(
      'unknown-alert',
      `export default defineGameDay({ name: 'unknown-alert', environments: ['local'], steadyState: [probe.http({ name: 'up', target: 'api', path: '/readyz' })],
        phases: [{ name: 'kill', fault: fault.podKill({ target: 'api', mode: 'one' }), expect: { alerts: ['NoSuchAlert'] } }] });`,
    );
    const dry = await run(file, 'local', true);
    const real = await run(file, 'local');
    expect([dry.exitCode, real.exitCode]).toEqual([2, 2]);
    expect(real.summary).toBe(dry.summary);
    expect(dry.summary).toMatch(/phases\[0\]\.expect\.alerts\[0\]: no alert named 'NoSuchAlert'/);
    expect(dry.summary).toMatch(/GraphApiReplicaDown/);
  });
});

describe('preflight', () => {
  it('a hosts environment whose Prometheus does not answer is exit 4 on --dry-run, naming it', async () => {
    const file = drillFile(
      'needs-prometheus',
      `export default defineGameDay({ name: 'needs-prometheus', environments: ['team'], steadyState: [probe.http({ name: 'up', target: 'api', path: '/' })],
        phases: [{ name: 'noop', fault: fault.custom({ name: 'noop', inject: 'true' }), expect: { alerts: ['SomeAlert'] } }] });`,
    );
    const dry = await run(file, 'team', true);
    expect(dry.exitCode).toBe(4);
    expect(dry.summary).toMatch(/Prometheus at http:\/\/127\.0\.0\.1:1 does not answer/);
  });

  it('a hosts environment with no Prometheus cannot watch expected alerts: exit 4; the reachable target is checked', async () => {
    const file = drillFile(
      'alerts-without-prometheus',
      `export default defineGameDay({ name: 'alerts-without-prometheus', environments: ['teamNoProm'], steadyState: [probe.http({ name: 'up', target: 'api', path: '/' })],
        phases: [{ name: 'noop', fault: fault.custom({ name: 'noop', inject: 'true' }), expect: { alerts: ['SomeAlert'] } }] });`,
    );
    expect((await run(file, 'teamNoProm', true)).summary).toMatch(/names no Prometheus to watch them/);
    const fine = drillFile(
      'no-alerts',
      `export default defineGameDay({ name: 'no-alerts', environments: ['teamNoProm'], steadyState: [probe.http({ name: 'up', target: 'api', path: '/' })],
        phases: [{ name: 'noop', fault: fault.custom({ name: 'noop', inject: 'true' }) }] });`,
    );
    const ok = await run(fine, 'teamNoProm', true);
    expect(ok.exitCode).toBe(0);
    expect(ok.summary).toContain(`✓ target api ${targetUrl}`);
  });
});

describe("dry run on a team's hosts", () => {
  it('lists the blast radius of a process fault: the exact processes (pid, command line) it would hit, signalling none', async () => {
    // Started through a shell that exits at once: the sleep is nobody's child of ours, as a team's service would be.
    const pid = Number(execFileSync('bash', ['-c', '(exec -a drillbook-blast-radius-marker sleep 300) >/dev/null 2>&1 & echo $!']).toString().trim());
    try {
      const file = drillFile(
        'blast-radius',
        `export default defineDrill({ name: 'blast-radius', environments: ['teamNoProm'], steadyState: [probe.http({ name: 'up', target: 'api', path: '/' })],
          fault: fault.podKill({ target: 'worker', mode: 'all' }) });`,
      );
      const dry = await run(file, 'teamNoProm', true);
      expect(dry.exitCode, dry.summary).toBe(0);
      expect(dry.summary).toMatch(/blast radius: SIGKILL to 1 of 1 process\(es\)/);
      expect(dry.summary).toContain(`pid ${pid}: drillbook-blast-radius-marker 300`);
      expect(() => process.kill(pid, 0)).not.toThrow(); // still alive: a dry run signals nothing
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });
});

describe('the verdict includes everything it claims (local stage)', () => {
  it('load thresholds are checks: a breached rate<0.01 fails the drill, in the summary and JUnit', async () => {
    const file = drillFile(
      'threshold-breach',
      `const load = defineLoadProfile({ name: 'ingest', target: 'api', request: { method: 'POST', path: '/ingest', json: { entities: [{ kind: 'person', name: 'Ada' }] }, expect: { status: 201 } },
        scenarios: { steady: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '20s', preAllocatedVUs: 5, maxVUs: 20 } },
        thresholds: { http_req_failed: ['rate<0.01'] } });
      export default defineGameDay({ name: 'threshold-breach', environments: ['local'], load,
        steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms' })],
        phases: [{ name: 'warm-up', duration: '2s' }, { name: 'db-out', fault: fault.dependencyOutage({ target: 'db', duration: '5s' }) }, { name: 'cool-down', duration: '3s' }] });`,
    );
    const r = await run(file, 'local');
    expect(r.exitCode, `${r.summary}\n${r.notes.join('\n')}`).toBe(1);
    expect(r.verdict).toBe('fail');
    expect(r.summary).toMatch(/✗ load threshold http_req_failed rate<0\.01: .*rate=/);
    const record = JSON.parse(readFileSync(r.runFile!, 'utf8')) as RunRecord;
    expect(record.loadThresholds?.find((t) => t.metric === 'http_req_failed')?.ok).toBe(false);
    expect(junitXml(record)).toMatch(/load threshold http_req_failed rate&lt;0\.01/);
    // The generator's own cost is in the record, so a reader knows the load did not distort the measure.
    const generator = record.facts?.loadGenerator as { cpuShare: number; scope: string } | undefined;
    expect(generator?.scope).toBe('process');
    expect(generator?.cpuShare).toBeGreaterThan(0);
  }, 120_000);

  it('an attacker (as nobody) posting firing alerts to every port the harness listens on cannot turn a FAIL into a PASS', async () => {
    const file = drillFile(
      'forged-alerts',
      `import { execFile, execFileSync } from 'node:child_process';
      import { promisify } from 'node:util';
      import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
      // Every TCP port this harness process listens on (the webhook is one of them).
      const listeningPorts = () => {
        const inodes = new Set(readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync('/proc/self/fd/' + fd); } catch { return ''; } })
          .filter((l) => l.startsWith('socket:[')).map((l) => l.slice(8, -1)));
        return readFileSync('/proc/net/tcp', 'utf8').split('\\n').slice(1).map((l) => l.trim().split(/\\s+/))
          .filter((f) => f[3] === '0A' && inodes.has(f[9])).map((f) => parseInt(f[1].split(':')[1], 16));
      };
      const forge = async () => {
        const payload = JSON.stringify({ version: '4', status: 'firing', receiver: 'drillbook', alerts: [{ status: 'firing', labels: { alertname: 'GraphApiDatabaseDown', severity: 'critical' }, startsAt: new Date().toISOString() }] });
        const script = 'for (const p of ' + JSON.stringify(listeningPorts()) + ') for (const path of ["/", "/alertmanager", "/api/v2/alerts"]) await fetch("http://127.0.0.1:" + p + path, { method: "POST", headers: { "content-type": "application/json" }, body: process.argv[1], signal: AbortSignal.timeout(2000) }).catch(() => {});';
        // Asynchronously: the harness must keep answering while the attacker posts to it.
        // A Node that nobody may run: the harness's own can sit in a folder only its owner can enter.
        const runsAsNobody = (bin) => { try { execFileSync('runuser', ['-u', 'nobody', '--', bin, '-e', ''], { stdio: 'ignore' }); return true; } catch { return false; } };
        const node = [process.execPath, '/usr/bin/node', '/usr/local/bin/node'].find(runsAsNobody);
        if (!node) throw new Error('no Node that the user nobody can run (needed to play the attacker)');
        for (let i = 0; i < 3; i++) await promisify(execFile)('runuser', ['-u', 'nobody', '--', node, '--input-type=module', '-e', script, payload], { timeout: 30_000 });
      };
      export default defineGameDay({ name: 'forged-alerts', environments: ['local'], steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms' })],
        phases: [{ name: 'harmless', fault: fault.custom({ name: 'forge-alerts', inject: forge }), expect: { alerts: ['GraphApiDatabaseDown'], recoverWithin: '10s' } }, { name: 'wait', duration: '5s' }] });`,
    );
    const r = await run(file, 'local');
    expect(r.exitCode, `${r.summary}\n${r.notes.join('\n')}`).toBe(1);
    expect(r.summary).toMatch(/✗ harmless: GraphApiDatabaseDown fired: never fired/);
    const record = JSON.parse(readFileSync(r.runFile!, 'utf8')) as RunRecord;
    expect(record.events.some((e) => e.kind === 'alert' && e.alert === 'GraphApiDatabaseDown')).toBe(false);
    expect((record.facts?.receivers as { alertsRejected: { unauthorised: number } }).alertsRejected.unauthorised).toBeGreaterThan(0);
  }, 120_000);

  it('a Prometheus killed mid-run makes the run an environment error (exit 4), never a pass', async () => {
    const file = drillFile(
      'prometheus-lost',
      `import { execFileSync } from 'node:child_process';
      import { readdirSync, readFileSync } from 'node:fs';
      // The stage this run started (its state file names Prometheus' port): kill that Prometheus only.
      const killPrometheus = async () => {
        const stages = '${root}/.drillbook/stage';
        for (const dir of readdirSync(stages)) {
          const state = JSON.parse(readFileSync(stages + '/' + dir + '/stage.json', 'utf8'));
          execFileSync('pkill', ['-KILL', '-f', 'web.listen-address=127.0.0.1:' + new URL(state.urls.prometheus).port]);
        }
      };
      export default defineDrill({ name: 'prometheus-lost', environments: ['local'], steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms' })],
        fault: fault.custom({ name: 'kill-prometheus', inject: killPrometheus }) });`,
    );
    const r = await run(file, 'local');
    expect(r.exitCode, `${r.summary}\n${r.notes.join('\n')}`).toBe(4);
    expect(r.verdict).toBe('error');
    expect(r.summary).toMatch(/Prometheus at http:\/\/127\.0\.0\.1:\d+ stopped answering during the run/);
  }, 120_000);

  it('an Alertmanager killed mid-run makes the run an environment error (exit 4): the alerts that page and remediate no longer arrive', async () => {
    const file = drillFile(
      'alertmanager-lost',
      `import { execFileSync } from 'node:child_process';
      import { readdirSync, readFileSync } from 'node:fs';
      // The stage this run started (its state file names Prometheus' port): kill that Prometheus only.
      const killAlertmanager = async () => {
        const stages = '${root}/.drillbook/stage';
        for (const dir of readdirSync(stages)) {
          const state = JSON.parse(readFileSync(stages + '/' + dir + '/stage.json', 'utf8'));
          execFileSync('pkill', ['-KILL', '-f', 'web.listen-address=127.0.0.1:' + new URL(state.urls.alertmanager).port]);
        }
      };
      export default defineDrill({ name: 'alertmanager-lost', environments: ['local'], steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms' })],
        fault: fault.custom({ name: 'kill-alertmanager', inject: killAlertmanager }) });`,
    );
    const r = await run(file, 'local');
    expect(r.exitCode, `${r.summary}\n${r.notes.join('\n')}`).toBe(4);
    expect(r.verdict).toBe('error');
    expect(r.summary).toMatch(/Alertmanager at http:\/\/127\.0\.0\.1:\d+\/? stopped answering during the run/);
  }, 120_000);
});
