// The containers environment's balancer: round robin over a service's replicas on loopback,
// a replica that refuses (killed, restarting) skipped, a reset when none answers.
import { createServer, connect, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Balancer } from '../../src/faults/containers/balancer.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.stop();
});

/** A replica that answers every connection with its name and closes. */
async function replica(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => s.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ stop: () => new Promise((r) => server.close(() => r())) });
  return { port: (server.address() as { port: number }).port, server };
}

/** What one connection through the balancer reads, or 'reset'. */
function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = connect(port, '127.0.0.1');
    s.on('data', (b) => (got += b.toString()));
    s.on('end', () => resolve(got));
    s.on('error', () => resolve('reset'));
  });
}

describe('Balancer', () => {
  it('listens on loopback and takes turns', async () => {
    const [a, b] = [await replica('a'), await replica('b')];
    const lb = new Balancer('api.http', [a.port, b.port]);
    open.push(lb);
    await lb.start();
    expect(lb.port).toBeGreaterThan(0);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask(lb.port));
    expect(answers).toEqual(['a', 'b', 'a', 'b']);
  });

  it('skips a replica that refuses, and resets when none answers', async () => {
    const a = await replica('a');
    const gone = await replica('gone');
    await new Promise<void>((r) => gone.server.close(() => r()));
    const lb = new Balancer('api.http', [gone.port, a.port]);
    open.push(lb);
    await lb.start();
    expect([await ask(lb.port), await ask(lb.port)]).toEqual(['a', 'a']);
    await new Promise<void>((r) => a.server.close(() => r()));
    expect(await ask(lb.port)).toBe('reset');
  });
});
