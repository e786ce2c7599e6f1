import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { AlertWatcher, diffAlertStates, matchingAlerts, parseWebhookPayload } from '../../src/observe/alert-watcher.ts';
import { PrometheusClient } from '../../src/observe/prometheus.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { pushAll } from '../../src/util/arrays.ts';

describe('alert transitions from Prometheus polls', () => {
  const a = { alertname: 'GraphApiReplicaDown', severity: 'page' };
  it('records pending, then firing, then resolved when the alert disappears', () => {
    let seen = new Map();
    const steps = [[{ labels: a, state: 'pending' }], [{ labels: a, state: 'firing' }], [{ labels: a, state: 'firing' }], []];
    const states: string[] = [];
    for (const current of steps) {
      const { transitions, next } = diffAlertStates(seen, current);
      seen = next;
      pushAll(
        states,
        transitions.map((t) => t.state),
      );
    }
    expect(states).toEqual(['pending', 'firing', 'resolved']);
  });

  it('keeps alert instances with different labels apart and ignores inactive', () => {
    const { transitions } = diffAlertStates(new Map(), [
      { labels: { ...a, replica: '1' }, state: 'firing' },
      { labels: { ...a, replica: '2' }, state: 'pending' },
      { labels: { ...a, replica: '3' }, state: 'inactive' },
    ]);
    expect(transitions.map((t) => `${t.labels.replica}:${t.state}`)).toEqual(['1:firing', '2:pending']);
  });
});

describe('Alertmanager webhook receiver', () => {
  it('turns notifications into firing and resolved events once each, buffered until the run starts', async () => {
    let now = 1_000;
    const watcher = new AlertWatcher({ now: () => now, sleep: async () => {} });
    const url = await watcher.listen();
    const post = async (status: 'firing' | 'resolved') => {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${watcher.webhookToken}` },
        body: JSON.stringify({ version: '4', status, alerts: [{ status, labels: { alertname: 'GraphApiAvailability', severity: 'page' } }] }),
      });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    };
    try {
      await post('firing');
      const events: RunEvent[] = [];
      watcher.start({ append: (e) => events.push(e) });
      now = 2_000;
      await post('firing'); // a repeat notification is not a transition
      now = 3_000;
      await post('resolved');
      expect(events.map((e) => (e.kind === 'alert' ? `${e.t}:${e.alert}:${e.state}:${e.source}` : e.kind))).toEqual([
        '1000:GraphApiAvailability:firing:alertmanager',
        '3000:GraphApiAvailability:resolved:alertmanager',
      ]);
    } finally {
      await watcher.close();
    }
  });
});

const firing = (labels: Record<string, string>, receiver = 'drillbook') =>
  JSON.stringify({
    version: '4',
    status: 'firing',
    receiver,
    alerts: [{ status: 'firing', labels: { alertname: 'GraphApiAvailability', severity: 'page', ...labels } }],
  });

describe('webhook authentication and limits', () => {
  let watcher: AlertWatcher;
  let url = '';
  const events: RunEvent[] = [];
  beforeEach(async () => {
    events.length = 0;
    watcher = new AlertWatcher({ now: () => Date.now(), sleep: async () => {} });
    url = await watcher.listen();
    watcher.start({ append: (e) => events.push(e) });
  });
  afterEach(() => watcher.close());

  const send = async (headers: Record<string, string>, body: string | Buffer = firing({}), method = 'POST') => {
    const headersOut = { 'content-type': 'application/json', ...headers };
    const res = await request(url, { method: method as 'POST', headers: headersOut, body: method === 'GET' ? null : body });
    const text = await res.body.text();
    return { status: res.statusCode, text, headers: res.headers };
  };

  it('makes a fresh 256-bit token per watcher', () => {
    const other = new AlertWatcher({ now: () => 0, sleep: async () => {} });
    expect(watcher.webhookToken).toMatch(/^[0-9a-f]{64}$/);
    expect(other.webhookToken).not.toBe(watcher.webhookToken);
  });

  it('refuses a post without the token, with a wrong one, or from a web page, and records nothing', async () => {
    const none = await send({});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((await send({ authorization: `Bearer ${'0'.repeat(64)}` })).status).toBe(401);
    expect((await send({ authorization: watcher.webhookToken })).status).toBe(401); // not a bearer header
    expect((await send({ authorization: `Bearer ${watcher.webhookToken}`, origin: 'http://127.0.0.1:9' })).status).toBe(403);
    expect(events).toEqual([]);
    expect(watcher.transitions).toEqual([]);
    expect(watcher.rejections()).toEqual({ unauthorised: 4, foreign: 0 });
  });

  it('answers 405 to other methods, 413 above the body limit, 400 to a malformed payload', async () => {
    const auth = { authorization: `Bearer ${watcher.webhookToken}` };
    expect((await send(auth, '', 'GET')).status).toBe(405);
    expect((await send(auth, Buffer.alloc(2 * 1024 * 1024, 0x20))).status).toBe(413);
    const bad = await send(auth, JSON.stringify({ alerts: [{ status: 'firing', labels: { alertname: 5 } }] }));
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/alerts\[0\]\.labels/);
    expect(events).toEqual([]);
    const ok = await send(auth);
    expect(ok.status).toBe(200);
    expect(events).toHaveLength(1);
  });

  it("ignores and counts payloads for another receiver or without the run's external labels", async () => {
    watcher.acceptOnly({ receiver: 'drillbook', externalLabels: { drillbook_run: 'run-1' } });
    const auth = { authorization: `Bearer ${watcher.webhookToken}` };
    expect((await send(auth, firing({ drillbook_run: 'run-1' }, 'someone-else'))).status).toBe(200);
    expect((await send(auth, firing({}))).status).toBe(200);
    expect((await send(auth, firing({ drillbook_run: 'run-2' }))).status).toBe(200);
    expect(events).toEqual([]);
    expect(watcher.rejections()).toEqual({ unauthorised: 0, foreign: 3 });
    expect(watcher.rejected).toBe(3);
    await send(auth, firing({ drillbook_run: 'run-1' }));
    expect(events.map((e) => (e.kind === 'alert' ? `${e.alert}:${e.state}:${e.source}:${e.labels.drillbook_run}` : e.kind))).toEqual([
      'GraphApiAvailability:firing:alertmanager:run-1',
    ]);
  });
});

describe('webhook payload rules (pure)', () => {
  it('names the field that is wrong', () => {
    expect(() => parseWebhookPayload([])).toThrow(/not a JSON object/);
    expect(() => parseWebhookPayload({ alerts: 'x' })).toThrow(/'alerts' is not a list/);
    expect(() => parseWebhookPayload({ alerts: [{ status: 'maybe', labels: {} }] })).toThrow(/alerts\[0\]\.status/);
  });

  it('keeps only alerts carrying every external label, from the right receiver', () => {
    const payload = parseWebhookPayload({
      receiver: 'drillbook',
      alerts: [
        { status: 'firing', labels: { alertname: 'A', env: 'run-1', team: 'x' } },
        { status: 'firing', labels: { alertname: 'B', env: 'run-2' } },
      ],
    });
    expect(matchingAlerts(payload, { externalLabels: { env: 'run-1' } })).toMatchObject({ ignored: 1, accepted: [{ labels: { alertname: 'A' } }] });
    expect(matchingAlerts(payload, { receiver: 'other' })).toEqual({ accepted: [], ignored: 2 });
    expect(matchingAlerts(payload, {}).accepted).toHaveLength(2);
  });
});

describe('Prometheus lost mid-run', () => {
  it('reports it in health() once polls keep failing', async () => {
    // A port that was just bound and released: connections to it are refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const sleep = (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    const prometheus = new PrometheusClient(`http://127.0.0.1:${port}`, 1_000);
    const watcher = new AlertWatcher({ now: () => Date.now(), sleep, pollEveryMs: 20, lostAfterMs: 100, prometheus });
    expect(watcher.health()).toEqual({});
    watcher.start({ append: () => {} });
    try {
      for (let i = 0; i < 250 && !watcher.health().prometheusLost; i++) await sleep(20);
      const lost = watcher.health().prometheusLost!;
      expect(lost).toBeDefined();
      expect(lost.failures).toBeGreaterThanOrEqual(2);
      expect(lost.since).toBeLessThanOrEqual(Date.now());
      expect(lost.error).toMatch(/ECONNREFUSED|connect/i);
      expect(lost.until).toBeUndefined();
    } finally {
      await watcher.close();
    }
  });
});
