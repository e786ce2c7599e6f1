// Issue #18, "every listener authenticates", on the local stage: each attack that worked on
// the landed code, run again (as the unprivileged user `nobody` where the attack needs only
// a local account), and shown to fail now.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStaleStage, startStage, type Stage } from '../src/index.ts';
import { childEnv, groupMembers } from '../src/proc.ts';
import { basicAuthHeader, randomSecret } from '../src/secrets.ts';
import { readState, type StageState } from '../src/state.ts';
import { eventually, tempStateDir } from './helpers.ts';

const root = process.getuid?.() === 0;
const signingKey = `signing-key-${randomSecret()}`;
const webhookToken = `webhook-${randomSecret()}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program as `nobody` with an allow-listed environment; resolves with its exit code and output. */
function asNobody(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('runuser', ['-u', 'nobody', '--', cmd, ...args], { env: childEnv(), timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** curl as nobody: the HTTP status code of one request (000 when no answer). */
async function curlAsNobody(method: string, url: string, headers: Record<string, string> = {}): Promise<string> {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const r = await asNobody('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', method, ...h, '--data', '', url]);
  return r.stdout.trim();
}

/** Every webhook notification that arrived: its Authorization header and parsed body. */
const notifications: Array<{ authorization?: string; body: { receiver: string; alerts: Array<{ labels: Record<string, string> }> } }> = [];
const webhook = http.createServer((req, res) => {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('end', () => {
    notifications.push({ authorization: req.headers.authorization, body: JSON.parse(text) });
    res.writeHead(200).end();
  });
});

let stage: Stage;
let state: StageState;
const stateDir = tempStateDir();
const rulesDir = join(stateDir, '..', `${stateDir.split('/').pop()}-rules`);

beforeAll(async () => {
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  mkdirSync(rulesDir, { recursive: true });
  // Fires 5 s in, once Alertmanager listens (an alert sent before is re-sent only a minute later).
  const rule = { alert: 'AlwaysFiring', expr: 'vector(1)', for: '5s' };
  writeFileSync(join(rulesDir, 'always.yml'), JSON.stringify({ groups: [{ name: 'always', rules: [rule] }] }));
  // The key is in the parent's environment while the stage starts, as `drill run` has it.
  process.env.DRILLBOOK_SIGNING_KEY = signingKey;
  try {
    stage = await startStage({
      stateDir,
      replicas: 1,
      rulesDir,
      alertWebhookUrl: `http://127.0.0.1:${(webhook.address() as { port: number }).port}/`,
      alertWebhookToken: webhookToken,
    });
  } finally {
    delete process.env.DRILLBOOK_SIGNING_KEY;
  }
  state = readState(stateDir)!;
}, 90_000);

afterAll(async () => {
  await stage?.stop();
  await cleanupStaleStage(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(rulesDir, { recursive: true, force: true });
  await new Promise<void>((r) => webhook.close(() => r()));
});

const tempRoot = () => dirname(stage.paths.dataDir);
const monitoringFile = (component: 'prometheus' | 'alertmanager', file: string) => join(tempRoot(), 'monitoring', component, file);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('(a) PostgreSQL needs the password', () => {
  const withoutPassword = () => {
    const u = new URL(stage.urls.database);
    u.password = '';
    return u.toString();
  };

  it('the stage hands out a URL with the password, and it works', async () => {
    expect(new URL(stage.urls.database).password).not.toBe('');
    const c = new pg.Client({ connectionString: stage.urls.database });
    await c.connect();
    try {
      expect((await c.query('select current_user as u')).rows[0].u).toBe('postgres');
    } finally {
      await c.end();
    }
  });

  it('no pg_hba.conf line trusts anyone', () => {
    const rules = readFileSync(join(stage.paths.dataDir, 'pg_hba.conf'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'));
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule).toMatch(/scram-sha-256\s*$/);
  });

  it('a connection over 127.0.0.1 without or with a wrong password is refused', async () => {
    const wrong = new URL(stage.urls.database);
    wrong.password = 'wrong';
    for (const url of [wrong.toString(), withoutPassword()]) {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => {});
      await expect(c.connect(), url.replace(/:[^:@/]*@/, ':…@')).rejects.toThrow(/password/);
      await c.end().catch(() => {});
    }
  });

  it.runIf(root)('as nobody: psql over 127.0.0.1 is refused, so COPY … TO PROGRAM never runs', async () => {
    const marker = join('/tmp', `drillbook-copy-${randomSecret(6)}`);
    const sql = `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'`;
    const r = await asNobody('psql', ['-w', '-X', withoutPassword(), '-c', sql]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no password supplied|password authentication failed/);
    expect(() => statSync(marker)).toThrow();
  });

  it.runIf(root)("as nobody: the private socket dir is closed (0700, the server's user)", async () => {
    const socketDir = join(tempRoot(), 'pgsocket');
    expect(statSync(socketDir).mode & 0o777).toBe(0o700);
    const port = new URL(stage.urls.database).port;
    const r = await asNobody('psql', ['-w', '-X', '-h', socketDir, '-p', port, '-U', 'postgres', '-d', 'graph', '-c', 'select 1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied|No such file/);
  });
});

describe('(b) no secret in any child environment', () => {
  /** The host and every process below it (postgres's workers, anything a child forked), from /proc's ppid fields. */
  const stagePids = () => {
    const parent = new Map<number, number>();
    for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone meanwhile
      }
    }
    const found = new Set([state.hostPid]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, ppid] of parent) {
        if (found.has(ppid) && !found.has(pid)) {
          found.add(pid);
          grew = true;
        }
      }
    }
    return [...found];
  };

  it('the signing key, the control token and the monitoring passwords are in no /proc/<pid>/environ or cmdline', () => {
    const pids = stagePids();
    // host, replica, postmaster and its workers, prometheus, alertmanager
    expect(pids.length).toBeGreaterThanOrEqual(6);
    for (const p of state.processes) expect(pids, p.name).toContain(p.pid);
    const s = state.secrets!;
    const secrets = [signingKey, 'DRILLBOOK_SIGNING_KEY', s.controlToken, s.prometheus.password, s.alertmanager.password, webhookToken];
    for (const pid of pids) {
      let environ: string;
      let cmdline: string;
      try {
        environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      expect(environ.length, `environ of ${pid}`).toBeGreaterThan(0);
      for (const s of secrets) {
        expect(environ.includes(s), `${s.slice(0, 12)}… in the environment of pid ${pid}`).toBe(false);
        expect(cmdline.includes(s), `${s.slice(0, 12)}… in the command line of pid ${pid}`).toBe(false);
      }
    }
  });

  it('the database password reaches the replicas only (their DATABASE_URL), never argv', () => {
    const password = decodeURIComponent(new URL(stage.urls.database).password);
    const replicaGroups = new Set(state.processes.filter((p) => p.name.startsWith('replica-')).map((p) => p.pgid));
    for (const p of state.processes) {
      for (const pid of groupMembers(p.pgid)) {
        let environ = '';
        let cmdline = '';
        try {
          environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        expect(cmdline.includes(password), `password in the command line of ${p.name} (${pid})`).toBe(false);
        expect(environ.includes(password), `password in the environment of ${p.name} (${pid})`).toBe(replicaGroups.has(p.pgid));
      }
    }
  });

  it('the host options file (it held the webhook token) is gone from the state dir', () => {
    expect(readdirSync(stateDir).filter((f) => f.startsWith('host-options'))).toEqual([]);
  });
});

describe('(c) the control API needs the bearer token and refuses browsers', () => {
  it('401 without a token or with a wrong one, 403 with an Origin header, 200 with the token', async () => {
    const url = `${stage.urls.control}/replicas`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(url, { headers: bearer('not-the-token') })).status).toBe(401);
    expect((await fetch(url, { headers: { ...bearer(stage.controlToken), origin: 'http://evil.example' } })).status).toBe(403);
    expect((await fetch(url, { headers: bearer(stage.controlToken) })).status).toBe(200);
  });

  it('a browser "simple" POST (text/plain, Origin) cannot stop the database', async () => {
    const headers = { origin: 'http://evil.example', 'content-type': 'text/plain' };
    const res = await fetch(`${stage.urls.control}/db/stop`, { method: 'POST', headers, body: '' });
    expect(res.status).toBe(403);
    const c = new pg.Client({ connectionString: stage.urls.database });
    await c.connect();
    await c.end();
  });

  it.runIf(root)('as nobody: /shutdown, /db/stop and a proxy fault are refused, and the stage stays up', async () => {
    expect(await curlAsNobody('POST', `${stage.urls.control}/shutdown`)).toBe('401');
    expect(await curlAsNobody('POST', `${stage.urls.control}/db/stop`)).toBe('401');
    expect(await curlAsNobody('PUT', `${stage.urls.control}/proxies/db`, { 'content-type': 'application/json' })).toBe('401');
    expect(await curlAsNobody('POST', `${stage.urls.control}/db/stop`, { origin: 'http://evil.example' })).toBe('403');
    expect((await stage.status()).filter((c) => !c.healthy)).toEqual([]);
  });

  it('Prometheus reloads through the control API (SIGHUP now that the lifecycle API is off)', async () => {
    const res = await fetch(`${stage.urls.control}/prometheus/reload`, { method: 'POST', headers: bearer(stage.controlToken) });
    expect(res.status).toBe(200);
  });
});

describe('(d) Prometheus and Alertmanager', () => {
  const prom = () => ({ authorization: basicAuthHeader(stage.auth.prometheus) });
  const am = () => ({ authorization: basicAuthHeader(stage.auth.alertmanager) });

  it('POST /-/quit does not stop Prometheus: 401 without credentials, lifecycle API off with them', async () => {
    expect((await fetch(`${stage.urls.prometheus}/-/quit`, { method: 'POST' })).status).toBe(401);
    const withCredentials = await fetch(`${stage.urls.prometheus}/-/quit`, { method: 'POST', headers: prom() });
    expect(withCredentials.ok).toBe(false);
    expect([403, 404, 405]).toContain(withCredentials.status);
    expect((await fetch(`${stage.urls.prometheus}/-/ready`, { headers: prom() })).status).toBe(200);
    expect((await stage.status()).find((c) => c.name === 'prometheus')?.healthy).toBe(true);
  });

  it('unauthenticated API calls get 401; with the credentials they answer', async () => {
    expect((await fetch(`${stage.urls.prometheus}/api/v1/query?query=up`)).status).toBe(401);
    expect((await fetch(`${stage.urls.prometheus}/api/v1/query?query=up`, { headers: prom() })).status).toBe(200);
    expect((await fetch(`${stage.urls.alertmanager}/api/v2/alerts`)).status).toBe(401);
    expect((await fetch(`${stage.urls.alertmanager}/api/v2/alerts`, { headers: am() })).status).toBe(200);
    // Prometheus's password is not Alertmanager's.
    expect((await fetch(`${stage.urls.alertmanager}/api/v2/alerts`, { headers: prom() })).status).toBe(401);
  });

  it('a silence without credentials is refused and none is created', async () => {
    const now = Date.now();
    const silence = {
      matchers: [{ name: 'alertname', value: '.+', isRegex: true, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: 'attacker',
      comment: 'silence everything',
    };
    const headers = { 'content-type': 'application/json' };
    const res = await fetch(`${stage.urls.alertmanager}/api/v2/silences`, { method: 'POST', headers, body: JSON.stringify(silence) });
    expect(res.status).toBe(401);
    const list = (await (await fetch(`${stage.urls.alertmanager}/api/v2/silences`, { headers: am() })).json()) as unknown[];
    expect(list).toEqual([]);
  });

  it.runIf(root)('as nobody: /-/quit, /-/reload and a silence are refused', async () => {
    expect(await curlAsNobody('POST', `${stage.urls.prometheus}/-/quit`)).toBe('401');
    expect(await curlAsNobody('POST', `${stage.urls.prometheus}/-/reload`)).toBe('401');
    expect(await curlAsNobody('POST', `${stage.urls.alertmanager}/api/v2/silences`, { 'content-type': 'application/json' })).toBe('401');
  });

  it("Alertmanager's notifications carry the webhook token, the stage's receiver and its external label", async () => {
    // Prometheus starts before Alertmanager: on a busy machine its first send of the alert can find
    // Alertmanager not yet listening, and Prometheus sends a firing alert again only after its
    // resend delay (1 min). What is checked here does not depend on the first send, so wait for one resend.
    const n = await eventually(() => notifications.find((x) => x.body.alerts.some((a) => a.labels.alertname === 'AlwaysFiring')), 80_000);
    expect(n.authorization).toBe(`Bearer ${webhookToken}`);
    expect(stage.alertReceiver).toMatch(/^drillbook-/);
    expect(n.body.receiver).toBe(stage.alertReceiver);
    expect(Object.keys(stage.externalLabels)).toEqual(['drillbook_stage']);
    const alert = n.body.alerts.find((a) => a.labels.alertname === 'AlwaysFiring')!;
    expect(alert.labels.drillbook_stage).toBe(stage.externalLabels.drillbook_stage);
  }, 100_000);
});

describe('(e) run files are 0600 in 0700 dirs', () => {
  const files = () => [
    join(stateDir, 'stage.json'),
    monitoringFile('prometheus', 'prometheus.yml'),
    monitoringFile('prometheus', 'web.yml'),
    monitoringFile('alertmanager', 'alertmanager.yml'),
    monitoringFile('alertmanager', 'web.yml'),
  ];
  const dirs = () => [
    stateDir,
    join(tempRoot(), 'monitoring'),
    dirname(monitoringFile('prometheus', 'x')),
    dirname(monitoringFile('alertmanager', 'x')),
    join(tempRoot(), 'logs'),
  ];

  it('modes', () => {
    for (const f of files()) expect((statSync(f).mode & 0o777).toString(8), f).toBe('600');
    for (const d of dirs()) expect((statSync(d).mode & 0o777).toString(8), d).toBe('700');
    // The temp root is passable (the postgres user reaches its data dir) but not listable.
    expect((statSync(tempRoot()).mode & 0o777).toString(8)).toBe('711');
  });

  it('the files hold what makes them secret', () => {
    expect(readFileSync(monitoringFile('alertmanager', 'alertmanager.yml'), 'utf8')).toContain(webhookToken);
    expect(readFileSync(join(stateDir, 'stage.json'), 'utf8')).toContain(stage.controlToken);
    // bcrypt hashes, not the passwords
    const web = readFileSync(monitoringFile('prometheus', 'web.yml'), 'utf8');
    expect(web).toMatch(/\$2[aby]\$/);
    expect(web).not.toContain(stage.auth.prometheus.password);
  });

  it.runIf(root)('as nobody: none of them can be read, and the temp root cannot be listed', async () => {
    for (const f of files()) {
      const r = await asNobody('cat', [f]);
      expect(r.code, f).not.toBe(0);
      expect(r.stderr, f).toMatch(/Permission denied/);
    }
    const ls = await asNobody('ls', [tempRoot()]);
    expect(ls.code).not.toBe(0);
  });
});
