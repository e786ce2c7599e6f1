// Entry point of one service replica: tracing first, then the app (so http and pg get patched).
import { configFromEnv } from './config.ts';
import { startTracing } from './tracing.ts';

const config = configFromEnv();
const stopTracing = startTracing(config);
const { createApp } = await import('./app.ts');
const app = createApp(config);

app.server.listen(config.port, '127.0.0.1', () => {
  const { port } = app.server.address() as { port: number };
  process.stdout.write(`graph-api ${config.replica} listening on 127.0.0.1:${port}\n`);
});

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 3_000);
  force.unref();
  await app.close();
  await stopTracing().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
