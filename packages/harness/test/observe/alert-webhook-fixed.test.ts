// A fixed alert webhook (`alertWebhook: { port, tokenFile }`) for a team's own Alertmanager: the
// watcher listens on that loopback port with that token, refuses any other token, says plainly
// when the port is taken; the token file must be private and long enough to be a secret.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.ts';
import { AlertWatcher } from '../../src/observe/alert-watcher.ts';
import { fixedWebhook } from '../../src/session/environments/telemetry.ts';
import { freePort } from '../../../stage/src/ports.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-webhook-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const watcher = (webhook?: { port: number; token: string }) =>
  new AlertWatcher({ now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), ...(webhook ? { webhook } : {}) });

describe('a fixed alert webhook', () => {
  it('listens on the configured port and takes only the configured token', async () => {
    const port = await freePort();
    const w = watcher({ port, token: 'a-team-secret-of-enough-length' });
    try {
      expect(await w.listen()).toBe(`http://127.0.0.1:${port}/alertmanager`);
      const post = (token: string) =>
        fetch(`http://127.0.0.1:${port}/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: '{"alerts":[]}',
        });
      expect((await post('wrong-token-wrong-token')).status).toBe(401);
      expect((await post('a-team-secret-of-enough-length')).status).toBeLessThan(300);
    } finally {
      await w.close();
    }
  });

  it('a port already taken is an environment error naming the field to change', async () => {
    const port = await freePort();
    const first = watcher({ port, token: 'x'.repeat(20) });
    await first.listen();
    try {
      const second = watcher({ port, token: 'x'.repeat(20) });
      await expect(second.listen()).rejects.toThrow(EnvironmentError);
      await expect(watcher({ port, token: 'x'.repeat(20) }).listen()).rejects.toThrow(/port \d+ is in use.*change alertWebhook\.port/);
    } finally {
      await first.close();
    }
  });

  it('the token file must be private, readable and at least 16 characters', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'a-team-secret-of-enough-length\n', { mode: 0o600 });
    expect(fixedWebhook({ alertWebhook: { port: 9999, tokenFile: file } })).toEqual({ port: 9999, token: 'a-team-secret-of-enough-length' });
    chmodSync(file, 0o644);
    expect(() => fixedWebhook({ alertWebhook: { port: 9999, tokenFile: file } })).toThrow(/readable by others: chmod 600/);
    writeFileSync(join(dir, 'short'), 'short', { mode: 0o600 });
    expect(() => fixedWebhook({ alertWebhook: { port: 9999, tokenFile: join(dir, 'short') } })).toThrow(/needs at least 16/);
    expect(() => fixedWebhook({ alertWebhook: { port: 9999, tokenFile: join(dir, 'missing') } })).toThrow(/could not be read/);
    expect(fixedWebhook({})).toBeUndefined();
  });
});
