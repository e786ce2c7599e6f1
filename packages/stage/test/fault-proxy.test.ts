// The fault proxy on its own, between a real TCP echo server and a client.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy, parseEffects } from '../src/fault-proxy.ts';

let echo: Server;
let proxy: FaultProxy;
const sockets: Socket[] = [];

async function setup(): Promise<void> {
  echo = createServer((s) => {
    s.on('error', () => {}); // the proxy resets its upstream side too
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  proxy = new FaultProxy('test', { host: '127.0.0.1', port: (echo.address() as { port: number }).port });
  await proxy.start();
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy?.stop();
  await new Promise<void>((r) => echo.close(() => r()));
});

function connect(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port: proxy.port }, () => resolve(s));
    sockets.push(s);
    s.once('error', reject);
  });
}

/** Sends `bytes` and resolves with the ms until all came back. */
function roundTrip(s: Socket, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let got = 0;
    const onData = (c: Buffer) => {
      got += c.length;
      if (got >= bytes) {
        s.off('data', onData);
        resolve(performance.now() - t0);
      }
    };
    s.on('data', onData);
    s.write(Buffer.alloc(bytes, 7));
  });
}

const closed = (s: Socket) =>
  new Promise<string>((r) => {
    s.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
    s.once('close', () => r('close'));
  });

describe('FaultProxy', () => {
  it('carries bytes unchanged without effects', async () => {
    await setup();
    const s = await connect();
    const data: Buffer[] = [];
    s.on('data', (c: Buffer) => data.push(c));
    s.write('hello proxy');
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(data).toString()).toBe('hello proxy');
    expect(proxy.stats.bytesTo).toBe(11);
    expect(proxy.stats.bytesFrom).toBe(11);
  });

  it('delays each direction, also on an already open connection', async () => {
    await setup();
    const s = await connect();
    await roundTrip(s, 10);
    proxy.set({ delayMs: 150 });
    expect(await roundTrip(s, 10)).toBeGreaterThanOrEqual(295); // 150 there + 150 back
    proxy.set({ delayMs: 150, direction: 'to' });
    const oneWay = await roundTrip(s, 10);
    expect(oneWay).toBeGreaterThanOrEqual(148);
    proxy.clear();
    expect(await roundTrip(s, 10)).toBeLessThan(oneWay);
  });

  it('throttles to the bandwidth', async () => {
    await setup();
    const s = await connect();
    proxy.set({ bandwidth: 100_000, direction: 'to' });
    // 50 kB at 100 kB/s takes at least half a second.
    expect(await roundTrip(s, 50_000)).toBeGreaterThanOrEqual(480);
  });

  it('blackhole carries nothing until cleared; reset and loss=1 refuse connections', async () => {
    await setup();
    const s = await connect();
    proxy.set({ blackhole: true });
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    s.write('lost');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    proxy.clear();
    s.write('found');
    await new Promise((r) => setTimeout(r, 200));
    expect(Buffer.concat(got).toString()).toBe('found');

    const open = await connect();
    const ended = closed(open);
    proxy.set({ reset: true });
    expect(await ended).toBe('ECONNRESET');
    const refused = createConnection({ host: '127.0.0.1', port: proxy.port });
    sockets.push(refused);
    expect(await closed(refused)).toBe('ECONNRESET');

    proxy.set({ loss: 1 });
    const lost = createConnection({ host: '127.0.0.1', port: proxy.port });
    sockets.push(lost);
    expect(await closed(lost)).toBe('ECONNRESET');
    expect(proxy.stats.refused).toBe(2);
  });

  it('validates effects from the control API', () => {
    expect(parseEffects({ delayMs: 100, jitterMs: 10, direction: 'from' })).toEqual({ delayMs: 100, jitterMs: 10, direction: 'from' });
    expect(parseEffects({ loss: 2 })).toMatch(/fraction/);
    expect(parseEffects({ delay: 1 })).toMatch(/unknown effect/);
    expect(parseEffects({ bandwidth: 0 })).toMatch(/blackhole/);
    expect(parseEffects([])).toMatch(/object/);
  });
});
