// The benchmark's target: a minimal HTTP server in its own process (so the load tools
// and the server each get a core). `POST /__stall?ms=N` makes it hold every response
// for N ms from that moment, as a stalled server (GC pause, lock) looks to clients.
// `GET /__count` answers how many load requests it has received: the benchmark's own
// count of arrivals, independent of what any load tool reports.
import { createServer } from 'node:http';

let stallUntil = 0;
let requests = 0;
const body = Buffer.from('ok\n');
const server = createServer((req, res) => {
  if (req.url?.startsWith('/__stall')) {
    stallUntil = Date.now() + Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 1000);
    res.writeHead(204).end();
    return;
  }
  if (req.url === '/__count') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests }));
    return;
  }
  requests++;
  const send = () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
  const wait = stallUntil - Date.now();
  if (wait > 0) setTimeout(send, wait);
  else send();
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${server.address().port}\n`));
// Exit with the parent: stdin closes when the bench process goes away, however it ends.
process.stdin.on('end', () => process.exit(0)).resume();
process.on('SIGTERM', () => process.exit(0));
