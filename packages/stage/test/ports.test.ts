// Child ports come from below the kernel's ephemeral range, so an outgoing connection cannot
// take one between the pick and the child's bind; a taken port is an error, not a crash.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralRange, freePort, listenOnLoopback } from '../src/ports.ts';

describe('ports', () => {
  it('hands out distinct bindable ports below the ephemeral range', async () => {
    const [low] = ephemeralRange();
    const ports = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) expect(p).toBeLessThan(low);
    const srv = createServer();
    expect(await listenOnLoopback(srv, ports[0])).toBe(ports[0]);
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('rejects with EADDRINUSE when the port is taken', async () => {
    const a = createServer();
    const port = await listenOnLoopback(a);
    const b = createServer();
    await expect(listenOnLoopback(b, port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await new Promise<void>((r) => a.close(() => r()));
  });
});
