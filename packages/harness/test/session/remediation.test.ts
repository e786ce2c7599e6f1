// The remediation runner (allow-listed environment, time and output bounds, exit code kept), the
// channel `drill mitigate` writes to, and the feed that turns both into the timeline's reports.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import type { MitigationReport } from '../../src/engine/timeline.ts';
import { appendMitigation, findMitigationChannel, openMitigationChannel, readMarks } from '../../src/session/mitigation-channel.ts';
import { RunMitigations, startsRemediation } from '../../src/session/mitigation-feed.ts';
import { parseListenAddress, remediationsFor } from '../../src/session/remediate-listener.ts';
import { remediationIssues, runRemediationScript } from '../../src/session/remediation.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'drillbook-remediation-'));
  mkdirSync(join(root, 'scripts'));
  mkdirSync(join(root, '.drillbook', 'runs'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const script = (name: string, body: string) => writeFileSync(join(root, 'scripts', name), body);

describe('runRemediationScript', () => {
  it('gives the script only the allow-listed environment plus what it is told, and keeps its exit code and output', async () => {
    process.env.DRILLBOOK_TEST_SECRET = 'do-not-leak';
    try {
      script(
        'env.ts',
        'console.log(JSON.stringify({ secret: process.env.DRILLBOOK_TEST_SECRET ?? null, alert: process.env.DRILLBOOK_ALERT }));\nprocess.exit(3);\n',
      );
      const r = await runRemediationScript(root, 'scripts/env.ts', { DRILLBOOK_ALERT: 'RouteFailing' }, { timeoutMs: 60_000 });
      expect(r.exitCode).toBe(3);
      expect(r.ok).toBe(false);
      expect(r.error).toBe('scripts/env.ts exited with 3');
      expect(JSON.parse(r.output)).toEqual({ secret: null, alert: 'RouteFailing' });
    } finally {
      delete process.env.DRILLBOOK_TEST_SECRET;
    }
  });

  it('keeps only the tail of a flood of output, and kills a script that overruns its time bound', async () => {
    script('flood.ts', "for (let i = 0; i < 5000; i++) console.log(`line ${i} ${'x'.repeat(60)}`);\nconsole.log('the last line');\n");
    const flood = await runRemediationScript(root, 'scripts/flood.ts', {}, { timeoutMs: 60_000, maxOutputBytes: 2_048 });
    expect(flood.ok).toBe(true);
    expect(flood.output).toMatch(/^\[… first \d+ bytes of output dropped\]/);
    expect(flood.output.endsWith('the last line')).toBe(true);
    expect(Buffer.byteLength(flood.output)).toBeLessThan(2_048 + 100);

    script('hang.ts', "console.log('rolling back…');\nsetInterval(() => {}, 1000);\n");
    const hang = await runRemediationScript(root, 'scripts/hang.ts', {}, { timeoutMs: 3_000 });
    expect(hang).toMatchObject({ ok: false, exitCode: null, error: 'killed after its time bound of 3000 ms' });
    expect(hang.output).toContain('rolling back…');
  });

  it('refuses a script outside the project and reports a missing one as a definition issue', async () => {
    const outside = await runRemediationScript(root, '../elsewhere.ts', {}, { timeoutMs: 1_000 });
    expect(outside.ok).toBe(false);
    expect(outside.error).toContain('is outside the project');
    const d = defineGameDay({
      name: 'x',
      environments: ['local'],
      steadyState: [probe.http({ name: 'r', target: 'api', path: '/', every: '1s' })],
      phases: [{ name: 'm', fault: fault.podKill({ target: 'api' }), until: 'mitigated', remediate: { onAlert: 'A', run: 'scripts/missing.ts' } }],
    });
    expect(remediationIssues(d.plan, root)).toEqual([
      {
        path: 'phases[0].remediate.run',
        problem: `no script at ${join(root, 'scripts', 'missing.ts')}`,
        fix: expect.stringContaining('create scripts/missing.ts'),
      },
    ]);
  });
});

describe('the mitigation channel and feed', () => {
  const drill = defineGameDay({
    name: 'x',
    environments: ['local'],
    steadyState: [probe.http({ name: 'r', target: 'api', path: '/', every: '1s' })],
    phases: [
      {
        name: 'bad-migration',
        fault: fault.migration({ target: 'db', apply: 'a', rollback: 'b' }),
        until: 'mitigated',
        remediate: { onAlert: 'RouteFailing', run: 'scripts/rollback.ts' },
      },
    ],
  });
  const phase = drill.plan.phases[0]!;

  it('a person marks the running run; the feed reports it once, stamped with the moment of the mark', async () => {
    const channel = openMitigationChannel(root, { runId: 'run-1', drill: 'x', phases: ['bad-migration'] });
    const found = findMitigationChannel(root);
    expect(found.header).toMatchObject({ runId: 'run-1', pid: process.pid, phases: ['bad-migration'] });
    expect(() => findMitigationChannel(root, 'run-2')).toThrow(/run run-2 does not wait for a mitigation/);

    const feed = new RunMitigations({
      projectRoot: root,
      runId: 'run-1',
      environment: 'local',
      now: Date.now,
      targetUrl: () => undefined,
      channelFile: channel.file,
      pollMs: 20,
      log: () => {},
    });
    const reports: MitigationReport[] = [];
    const stop = new AbortController();
    const tInject = Date.now() - 5_000;
    const watching = feed.watch({ faultId: 'f1', phase, tInject }, (m) => reports.push(m), stop.signal);
    appendMitigation(found.file, { t: tInject + 4_000, note: 'rolled back 042', revert: true });
    while (reports.length === 0) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await watching;
    expect(reports).toEqual([{ startedAt: tInject + 4_000, by: 'person', ok: true, note: 'rolled back 042', revert: true }]);
    expect(readMarks(channel.file, 0).marks).toHaveLength(1);
    channel.close();
    expect(() => findMitigationChannel(root)).toThrow(/no running drill .* waits for a mitigation/);
  });

  it('runs the remediation only on a firing delivered by Alertmanager after the fault went in, once', async () => {
    script(
      'rollback.ts',
      'console.log(`rolling back ${process.env.DRILLBOOK_TARGET}=${process.env.DRILLBOOK_TARGET_URL} on ${process.env.DRILLBOOK_ALERT}`);\n',
    );
    const feed = new RunMitigations({
      projectRoot: root,
      runId: 'run-1',
      environment: 'local',
      now: Date.now,
      targetUrl: (t) => `postgres://${t}.example/x`,
      log: () => {},
    });
    const fault1 = { faultId: 'f1', phase, tInject: 1_000 };
    const alert = (over: object) => ({
      t: 2_000,
      kind: 'alert' as const,
      alert: 'RouteFailing',
      state: 'firing' as const,
      source: 'alertmanager' as const,
      labels: { alertname: 'RouteFailing' },
      ...over,
    });
    expect(startsRemediation(alert({ source: 'prometheus' }), fault1)).toBe(false); // Prometheus' own view is not the delivery
    expect(startsRemediation(alert({ t: 500 }), fault1)).toBe(false); // before the fault
    expect(startsRemediation(alert({ state: 'resolved' }), fault1)).toBe(false);
    expect(startsRemediation(alert({ alert: 'Other' }), fault1)).toBe(false);
    expect(startsRemediation(alert({}), fault1)).toBe(true);

    const reports: MitigationReport[] = [];
    const stop = new AbortController();
    const watching = feed.watch(fault1, (m) => reports.push(m), stop.signal);
    feed.observe(alert({}));
    feed.observe(alert({ t: 3_000 })); // Alertmanager repeats itself: the rollback must not run twice
    while (reports.length === 0) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await watching;
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ by: 'alert-remediation', ok: true, exitCode: 0, alert: 'RouteFailing', script: 'scripts/rollback.ts' });
    expect(reports[0]!.output).toBe('rolling back db=postgres://db.example/x on RouteFailing');
  });
});

describe('the webhook listener, pure parts', () => {
  it('parses listen addresses, loopback by default', () => {
    expect(parseListenAddress('9095')).toEqual({ host: '127.0.0.1', port: 9095 });
    expect(parseListenAddress('0.0.0.0:9095')).toEqual({ host: '0.0.0.0', port: 9095 });
    expect(parseListenAddress('[::1]:9095')).toEqual({ host: '::1', port: 9095 });
    expect(() => parseListenAddress('localhost:http')).toThrow(/--listen 'localhost:http' is not host:port/);
  });

  it('maps firing alerts to the configured scripts, one key per alert instance', () => {
    const served = [{ remediate: { onAlert: 'RouteFailing', run: 'scripts/r.ts', timeout: 1_000 }, from: 'drills/x.ts phase m' }];
    const hits = remediationsFor(
      {
        alerts: [
          { status: 'firing', labels: { alertname: 'RouteFailing', route: '/a' } },
          { status: 'firing', labels: { alertname: 'RouteFailing', route: '/b' } },
          { status: 'resolved', labels: { alertname: 'RouteFailing', route: '/c' } },
          { status: 'firing', labels: { alertname: 'Other' } },
        ],
      },
      served,
    );
    expect(hits.map((h) => h.key)).toEqual(['scripts/r.ts|alertname=RouteFailing,route=/a', 'scripts/r.ts|alertname=RouteFailing,route=/b']);
  });
});
