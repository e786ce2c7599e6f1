import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { AlertWatcher, diffAlertStates } from '../../src/observe/alert-watcher.ts';
import type { RunEvent } from '../../src/engine/types.ts';

describe('alert transitions from Prometheus polls', () => {
  const a = { alertname: 'GraphApiReplicaDown', severity: 'page' };
  it('records pending, then firing, then resolved when the alert disappears', () => {
    let seen = new Map();
    const steps = [[{ labels: a, state: 'pending' }], [{ labels: a, state: 'firing' }], [{ labels: a, state: 'firing' }], []];
    const states: string[] = [];
    for (const current of steps) {
      const { transitions, next } = diffAlertStates(seen, current);
      seen = next;
      states.push(...transitions.map((t) => t.state));
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
        headers: { 'content-type': 'application/json' },
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
