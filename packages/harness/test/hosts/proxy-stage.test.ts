// The hosts environment's fault proxy (issue #15, item 7) against a service that is not ours: a
// small Python HTTP server on a loopback port it picks itself. A drill through the harness's proxy
// adds latency, then partitions; the probes see both, and recovery after. Afterwards the proxy is
// gone (its listen port refuses), the service still runs and answers, and `drill recover` finds nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '@drillbook/stage';
import { freePort } from '../../../stage/src/ports.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { journalPath, runDrill } from '../../src/session/run-drill.ts';
import { drill } from '../support/drill-in-process.ts';

const repo = resolve(__dirname, '../../../..');
// Inside the repo so '@drillbook/harness' resolves as it does for users.
const project = mkdtempSync(join(repo, '.tmp-hosts-proxy-'));
const startDir = process.cwd();

const DELAY_MS = 400;
const PROBE_EVERY_MS = 250;

// Counts what it serves, so the test can tell the proxy carried the probes to it.
const SERVICE = `
import http.server
hits = 0
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        global hits
        if self.path != '/hits':
            hits += 1
        body = (str(hits) if self.path == '/hits' else 'ok').encode()
        self.send_response(200)
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # resets are what the drill does to it
server = Server(('127.0.0.1', 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
`;

let service: ChildProcess;
let upstreamPort = 0;
let listenPort = 0;
let dbListenPort = 0;
let crashListenPort = 0;

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

/** Whether something accepts a TCP connection on the loopback port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      done(true); // accepted but silent still means something listens
    });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Probe = Extract<RunEvent, { kind: 'probe' }>;

/** A run's faults (in, and when they started coming out) and its probes, from the record it wrote. */
function timelineOf(runFile: string) {
  const { events } = JSON.parse(readFileSync(runFile, 'utf8')) as { events: RunEvent[] };
  const faults = events.flatMap((e) => (e.kind === 'fault.injected' ? [{ id: e.faultId, in: e.t, targets: e.targets }] : []));
  const out = (id: string) => events.find((e) => e.kind === 'fault.reverting' && e.faultId === id)!.t;
  const probes = events.filter((e): e is Probe => e.kind === 'probe');
  return {
    faults: faults.map((f) => ({ ...f, out: out(f.id) })),
    probes,
    /** Probes sent after `from` and answered before `to`. */
    within: (from: number, to: number) => probes.filter((p) => p.started >= from && p.t <= to),
  };
}

beforeAll(async () => {
  service = spawn('python3', ['-c', SERVICE], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const firstLine = await new Promise<string>((done, fail) => {
    service.once('error', fail);
    service.once('exit', (code) => fail(new Error(`the Python service exited (${code}) before it listened`)));
    createInterface({ input: service.stdout! }).once('line', done);
  });
  upstreamPort = Number(firstLine);
  listenPort = await freePort();
  dbListenPort = await freePort();
  crashListenPort = await freePort();
  mkdirSync(join(project, 'drills'));
  writeFileSync(
    join(project, 'drillbook.config.ts'),
    `import { defineConfig } from '@drillbook/harness';
export default defineConfig({
  environments: {
    box: { kind: 'hosts', targets: { api: { proxy: { listen: '127.0.0.1:${listenPort}', upstream: '127.0.0.1:${upstreamPort}' } } } },
    bare: { kind: 'hosts', targets: { api: { url: 'http://127.0.0.1:${upstreamPort}', address: '127.0.0.1:${upstreamPort}' } } },
    // The same service as a dependency: its address, and the proxy the team points its clients at.
    deps: {
      kind: 'hosts',
      targets: { api: { url: 'http://127.0.0.1:${upstreamPort}' }, db: { address: '127.0.0.1:${upstreamPort}', proxy: { listen: '127.0.0.1:${dbListenPort}' } } },
    },
    taken: { kind: 'hosts', targets: { api: { proxy: { listen: '127.0.0.1:${upstreamPort}', upstream: '127.0.0.1:1' } } } },
    crash: { kind: 'hosts', targets: { api: { proxy: { listen: '127.0.0.1:${crashListenPort}', upstream: '127.0.0.1:${upstreamPort}' } } } },
  },
});
`,
  );
  const probe = `probe.http({ name: 'up', target: 'api', path: '/', every: '${PROBE_EVERY_MS}ms', timeout: '1s' })`;
  writeFileSync(
    join(project, 'drills', 'slow-then-cut.ts'),
    `import { defineGameDay, fault, probe } from '@drillbook/harness';
export default defineGameDay({
  name: 'slow-then-cut',
  environments: ['box'],
  steadyState: [${probe}],
  phases: [
    { name: 'calm', duration: '2s' },
    { name: 'slow', fault: fault.network({ target: 'api', delay: '${DELAY_MS}ms', duration: '3s' }), expect: { recoverWithin: '15s' } },
    { name: 'cut', fault: fault.network({ target: 'api', blackhole: true, duration: '3s' }), expect: { recoverWithin: '15s' } },
  ],
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'dependency.ts'),
    `import { defineGameDay, fault, probe } from '@drillbook/harness';
export default defineGameDay({
  name: 'dependency',
  environments: ['deps'],
  steadyState: [${probe.replace("target: 'api'", "target: 'db'")}],
  phases: [
    { name: 'calm', duration: '1s' },
    { name: 'db-slow', fault: fault.network({ target: 'api', dependency: 'db', delay: '${DELAY_MS}ms', duration: '2s' }), expect: { recoverWithin: '15s' } },
    { name: 'db-down', fault: fault.dependencyOutage({ target: 'db', duration: '2s' }), expect: { recoverWithin: '15s' } },
  ],
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'long-cut.ts'),
    `import { defineDrill, fault, probe } from '@drillbook/harness';
export default defineDrill({ name: 'long-cut', environments: ['crash'], steadyState: [${probe}],
  fault: fault.network({ target: 'api', blackhole: true, duration: '5m' }), expect: { recoverWithin: '10m' } });
`,
  );
  writeFileSync(
    join(project, 'drills', 'taken.ts'),
    `import { defineDrill, fault, probe } from '@drillbook/harness';
export default defineDrill({ name: 'taken', environments: ['taken'], steadyState: [${probe}],
  fault: fault.network({ target: 'api', delay: '100ms', duration: '2s' }) });
`,
  );
  writeFileSync(
    join(project, 'drills', 'no-proxy.ts'),
    `import { defineDrill, fault, probe } from '@drillbook/harness';
export default defineDrill({ name: 'no-proxy', environments: ['bare'], steadyState: [${probe}],
  fault: fault.network({ target: 'api', delay: '100ms', duration: '2s' }) });
`,
  );
});

afterAll(() => {
  process.chdir(startDir);
  service?.kill('SIGTERM');
  rmSync(project, { recursive: true, force: true });
});

describe('a network fault on a hosts target', () => {
  it('without proxy is refused before anything starts, naming the field and the fix', async () => {
    const r = await runDrill({ file: join(project, 'drills', 'no-proxy.ts'), dryRun: true, projectRoot: project, note: () => {} });
    expect(r.exitCode).toBe(2);
    expect(r.summary).toContain('environments.bare.targets.api.proxy is not set (address alone puts no proxy in front of it)');
    expect(r.summary).toContain("fix: add proxy: { listen: '127.0.0.1:<free port>'");
  });

  it('whose listen port is taken is an environment error (exit 4) naming the field, with nothing started', async () => {
    const r = await runDrill({ file: join(project, 'drills', 'taken.ts'), release: 'taken', projectRoot: project, note: () => {} });
    expect(r.exitCode, r.summary).toBe(4);
    expect(r.summary).toContain(`environments.taken.targets.api.proxy.listen: the fault proxy cannot listen on 127.0.0.1:${upstreamPort}: the port is taken`);
    expect(await get(upstreamPort, '/')).toEqual({ status: 200, body: 'ok' });
  });

  it('dry run: names the proxy it would start and asks the real service at its upstream', async () => {
    const r = await runDrill({ file: join(project, 'drills', 'slow-then-cut.ts'), dryRun: true, projectRoot: project, note: () => {} });
    expect(r.exitCode, r.summary).toBe(0);
    expect(r.summary).toContain('via host-proxy');
    expect(r.summary).toContain(`through the harness's fault proxy 127.0.0.1:${listenPort} → 127.0.0.1:${upstreamPort} (started with the run)`);
    expect(r.summary).toContain(`✓ target api http://127.0.0.1:${upstreamPort}\n`);
    expect(await accepts(listenPort)).toBe(false);
  });

  it('acts through the proxy: the probes see the added latency, then the partition, then recovery; the proxy is gone afterwards', async () => {
    const hitsBefore = Number((await get(upstreamPort, '/hits')).body);
    const r = await runDrill({ file: join(project, 'drills', 'slow-then-cut.ts'), release: 'proxy', projectRoot: project, note: () => {} });
    expect(r.exitCode, r.summary).toBe(0);
    const record = JSON.parse(readFileSync(r.runFile!, 'utf8')) as { events: RunEvent[] };
    const events = record.events;
    const injected = events.filter((e): e is Extract<RunEvent, { kind: 'fault.injected' }> => e.kind === 'fault.injected');
    const reverting = events.filter((e): e is Extract<RunEvent, { kind: 'fault.reverting' }> => e.kind === 'fault.reverting');
    expect(injected.map((e) => e.targets)).toEqual([['proxy api'], ['proxy api']]);
    const [slowIn, cutIn] = injected.map((e) => e.t) as [number, number];
    const [slowOut, cutOut] = reverting.map((e) => e.t) as [number, number];
    const probes = events.filter((e): e is Extract<RunEvent, { kind: 'probe' }> => e.kind === 'probe');
    const within = (from: number, to: number) => probes.filter((p) => p.started >= from && p.t <= to);

    // Before any fault: every probe passes, faster than the delay the fault adds.
    const calm = within(0, slowIn);
    expect(calm.length).toBeGreaterThanOrEqual(3);
    expect(calm.every((p) => p.ok)).toBe(true);
    const calmMedian = median(calm.map((p) => p.latencyMs!));
    expect(calmMedian).toBeLessThan(DELAY_MS);

    // Latency: sent after the delay went in, answered before it came out — each at least the delay
    // (the proxy holds every chunk that long), and the middle one at most the delay plus the calm median twice over.
    const slow = within(slowIn, slowOut);
    expect(slow.length).toBeGreaterThanOrEqual(3);
    expect(slow.every((p) => p.ok)).toBe(true);
    for (const p of slow) expect(p.latencyMs!).toBeGreaterThanOrEqual(DELAY_MS - 1);
    expect(median(slow.map((p) => p.latencyMs!))).toBeLessThanOrEqual(DELAY_MS + 2 * calmMedian + 50);

    // Partition: accepted, nothing carried — every probe sent into it fails.
    const cut = within(cutIn, cutOut);
    expect(cut.length).toBeGreaterThanOrEqual(2);
    expect(cut.every((p) => !p.ok)).toBe(true);

    // Recovery after it: the last probes pass again at the calm speed's order.
    const after = probes.filter((p) => p.started > cutOut);
    expect(after.slice(-3).every((p) => p.ok)).toBe(true);
    expect(median(after.filter((p) => p.ok).map((p) => p.latencyMs!))).toBeLessThan(DELAY_MS);

    // The proxy is gone with the run; the service is untouched and served the probes through it.
    expect(await accepts(listenPort)).toBe(false);
    expect(service.exitCode).toBeNull();
    expect(await get(upstreamPort, '/')).toEqual({ status: 200, body: 'ok' });
    expect(Number((await get(upstreamPort, '/hits')).body) - hitsBefore).toBeGreaterThanOrEqual(calm.length + slow.length);

    // Nothing left for `drill recover`: the journal has no pending revert.
    process.chdir(project);
    const recovered = await drill('recover');
    expect(recovered.code, recovered.err).toBe(0);
    expect(recovered.out).toContain('nothing to recover');
  });

  it("with a dependency: the target's traffic to it goes through the dependency's proxy; an outage resets it", async () => {
    const r = await runDrill({ file: join(project, 'drills', 'dependency.ts'), release: 'deps', projectRoot: project, note: () => {} });
    expect(r.exitCode, r.summary).toBe(0);
    const { faults, within, probes } = timelineOf(r.runFile!);
    expect(faults.map((f) => f.targets)).toEqual([['proxy db'], ['proxy db']]);
    const [slow, down] = faults as [(typeof faults)[0], (typeof faults)[0]];
    const slowProbes = within(slow.in, slow.out);
    expect(slowProbes.length).toBeGreaterThanOrEqual(2);
    for (const p of slowProbes) expect(p.ok && p.latencyMs! >= DELAY_MS - 1).toBe(true);
    const downProbes = within(down.in, down.out);
    expect(downProbes.length).toBeGreaterThanOrEqual(2);
    expect(downProbes.every((p) => !p.ok)).toBe(true);
    expect(probes.slice(-3).every((p) => p.ok)).toBe(true);
    expect(await accepts(dbListenPort)).toBe(false);
  });

  it('a harness killed mid-fault takes its proxy with it: `drill recover` only clears the journal', async () => {
    const journal = new RollbackJournal(journalPath(project));
    const fixture = join(__dirname, 'fixtures', 'run-then-crash.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, project, join(project, 'drills', 'long-cut.ts')], {
      cwd: project,
      env: childEnv(),
      stdio: 'ignore',
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    try {
      // Bounded: the fault is in within the probes' first seconds, or the child failed.
      for (let i = 0; i < 300 && journal.pending().length === 0 && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      expect(journal.pending().map((p) => p.record.provider)).toEqual(['host-proxy']);
      expect(await accepts(crashListenPort)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect(await accepts(crashListenPort)).toBe(false);
    expect(await get(upstreamPort, '/')).toEqual({ status: 200, body: 'ok' });
    process.chdir(project);
    const recovered = await drill('recover');
    expect(recovered.code, recovered.err).toBe(0);
    expect(recovered.out).toContain('reverted 1, failed 0');
    expect(journal.pending()).toEqual([]);
  });
});
