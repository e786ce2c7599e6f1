// Bootstraps a load worker thread when the harness runs from source (compiled, workers.ts starts
// worker.js directly): registers tsx (the runner's modules use TypeScript that
// Node cannot strip by itself, such as parameter properties), then loads the worker. Only
// erasable syntax here: Node runs this file before tsx is in place. A worker does not go
// through the embedding process's loader (a test runner's, say), so it registers its own.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
