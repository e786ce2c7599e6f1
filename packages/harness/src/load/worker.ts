// A load worker thread: one LoadEngine running its shard of the profile (shard.ts), driven
// by runLoad's messages (worker-protocol.ts). An error anywhere is rethrown as an uncaught
// exception, which Node hands to the parent as the Worker's 'error' event.
import { parentPort, workerData } from 'node:worker_threads';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { LoadEngine, loadStore } from './engine.ts';
import { type FromWorker, type ToWorker, type WireWindow, type WorkerInit } from './worker-protocol.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const { store } = loadStore(init.profile);
const engine = new LoadEngine(init.profile, store, { baseUrl: init.baseUrl, headers: init.headers, maxConnections: init.maxConnections, shard: init.shard });
const run = new AbortController();
const post = (m: FromWorker) => port.postMessage(m);
// This thread's own CPU (process.threadCpuUsage, Node 23.9+); NaN where it is missing, as the engines field allows Node 22.
const threadCpu = () => {
  if (typeof process.threadCpuUsage !== 'function') return NaN;
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1e6;
};

const fail = (err: unknown) =>
  setImmediate(() => {
    throw err;
  });

async function start(startAt: number): Promise<void> {
  const cpu0 = threadCpu();
  // startAt is on the common clock (worker-protocol.ts commonNow): the same instant in every thread.
  await engine.run(run.signal, startAt - performance.timeOrigin);
  post({ type: 'done', delta: store.drain(), checkPasses: engine.checkPasses, checkFails: engine.checkFails, cpuSeconds: threadCpu() - cpu0 });
}

function flush(): void {
  const w = engine.takeWindow();
  const window: WireWindow = { requests: w.requests, failures: w.failures, dropped: w.dropped, vus: w.vus, maxVUs: w.maxVUs };
  if (w.hist.totalCount) window.hist = encodeIntoCompressedBase64(w.hist);
  post({ type: 'window', window, delta: store.drain() });
}

port.on('message', (m: ToWorker) => {
  try {
    if (m.type === 'start') start(m.startAt).catch(fail);
    else if (m.type === 'flush') flush();
    else if (m.type === 'abort') run.abort();
  } catch (err) {
    fail(err);
  }
});
post({ type: 'ready' });
