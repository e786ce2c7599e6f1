// Ports are picked at run time. Servers this process owns listen on port 0 (the kernel picks,
// no race). Child processes (PostgreSQL, Prometheus, Alertmanager, replicas) need their port
// before they start, so we pick one and check it is free — from *below* the kernel's ephemeral
// range: a port from that range can be taken meanwhile by any outgoing connection on the
// machine (a busy test run opens thousands), which made a stage start fail now and then.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Listens on 127.0.0.1:port (0 = any) and resolves with the port; rejects on EADDRINUSE etc. */
export function listenOnLoopback(server: Pick<Server, 'once' | 'off' | 'listen' | 'address'>, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** The kernel's ephemeral range (Linux), or the IANA one where it cannot be read. */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    // not Linux
  }
  return [49152, 65535];
}

/** Ports handed out by this process and not yet reused, so two picks never collide. */
const handedOut = new Set<number>();

function isFree(port: number): Promise<boolean> {
  const srv = createServer();
  srv.unref();
  return listenOnLoopback(srv, port).then(
    () => new Promise<boolean>((r) => srv.close(() => r(true))),
    () => false,
  );
}

/**
 * A free loopback port for a child process to bind. Random in [10000, ephemeral start), checked
 * by binding it; falls back to a kernel-chosen port if that band is too small or all taken.
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const low = 10_000;
  const high = ephemeralLow - 1;
  if (high - low >= 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = low + Math.floor(Math.random() * (high - low + 1));
      if (handedOut.has(port)) continue;
      if (await isFree(port)) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const srv = createServer();
  srv.unref();
  const port = await listenOnLoopback(srv, 0);
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
