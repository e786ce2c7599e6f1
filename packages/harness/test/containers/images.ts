// Images for the containers tests, built here from this machine's own binaries: no registry,
// no base image (FROM scratch), no shell inside. `orders` is a small service of its own (Node,
// one bundled file) with PostgreSQL behind it; `postgres` is Debian's server with a cluster
// initialised on the host with a per-run password. Built through testcontainers' image builder.
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { GenericContainer } from 'testcontainers';

const PG_BIN = (() => {
  const base = '/usr/lib/postgresql';
  const version = readdirSync(base).sort((a, b) => Number(b) - Number(a))[0];
  return join(base, version!, 'bin');
})();

/** The shared libraries a binary loads (ldd), the loader included. */
function librariesOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/[^\s)]+)/g)].map((m) => m[1]!);
}

/** Copies files to the same paths under rootfs, following links (the image has no links to follow). */
function copyInto(rootfs: string, files: string[]): void {
  for (const f of files) {
    const to = join(rootfs, f);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(realpathSync(f), to);
  }
}

function context(prefix: string): { dir: string; rootfs: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  return { dir, rootfs };
}

/** The service's code: an HTTP API whose /orders asks PostgreSQL, and its own /metrics. */
const SERVICE_SOURCE = `
import { createServer } from 'node:http';
import pg from 'pg';
const port = Number(process.env.PORT), metricsPort = Number(process.env.METRICS_PORT);
const [host, dbPort] = process.env.DB_ADDRESS.split(':');
const pool = new pg.Pool({ host, port: Number(dbPort), user: 'postgres', password: process.env.DB_PASSWORD, database: 'postgres', max: 4, connectionTimeoutMillis: 2000, idleTimeoutMillis: 1000 });
pool.on('error', () => {});
const counts = new Map();
const count = (code) => counts.set(code, (counts.get(code) ?? 0) + 1);
createServer(async (req, res) => {
  if (req.url === '/healthz') { count(200); return res.end('ok'); }
  if (req.url === '/orders') {
    try {
      const r = await pool.query('select count(*)::int as n from pg_class');
      count(200);
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ tables: r.rows[0].n }));
    } catch (err) {
      count(503); res.statusCode = 503; return res.end(String(err.message));
    }
  }
  count(404); res.statusCode = 404; res.end();
}).listen(port, '127.0.0.1', () => console.log('orders listening on ' + port));
createServer((_req, res) => {
  res.setHeader('content-type', 'text/plain; version=0.0.4');
  res.end('# TYPE orders_requests_total counter\\n' + [...counts].map(([c, n]) => 'orders_requests_total{code="' + c + '"} ' + n).join('\\n') + '\\n');
}).listen(metricsPort, '127.0.0.1');
`;

/** The `orders` service image: this machine's Node binary and the service bundled with its PostgreSQL client. */
export async function buildServiceImage(tag: string): Promise<void> {
  const { dir, rootfs } = context('drillbook-img-orders-');
  try {
    const node = realpathSync(process.execPath);
    copyInto(rootfs, librariesOf(node));
    mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
    copyFileSync(node, join(rootfs, 'usr/local/bin/node'));
    const entry = join(dir, 'main.mjs');
    writeFileSync(entry, SERVICE_SOURCE);
    // Bundled so the image needs no node_modules: pg is resolved from the repository's.
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: join(rootfs, 'app/main.mjs'),
      nodePaths: [join(import.meta.dirname, '..', '..', '..', '..', 'node_modules')],
      external: ['pg-native'],
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'error',
    });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY rootfs/ /\nUSER 65534:65534\nCMD ["/usr/local/bin/node", "/app/main.mjs"]\n');
    await GenericContainer.fromDockerfile(dir).build(tag, { deleteOnExit: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The host's postgres user (the cluster is initialised as it; the container runs as its uid). */
function postgresIds(): { uid: number; gid: number } {
  const line = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).trim().split(':');
  return { uid: Number(line[2]), gid: Number(line[3]) };
}

/** A PostgreSQL image whose cluster's superuser password is `password` (scram), listening where PGPORT says, on 127.0.0.1. */
export async function buildPostgresImage(tag: string, password: string): Promise<void> {
  const { dir, rootfs } = context('drillbook-img-pg-');
  const { uid, gid } = postgresIds();
  try {
    const postgres = join(PG_BIN, 'postgres');
    copyInto(rootfs, [postgres, ...librariesOf(postgres)]);
    // Its own library dir (plpgsql and the other modules initdb's catalog names) and share dir.
    cpSync(join(PG_BIN, '..', 'lib'), join(rootfs, PG_BIN, '..', 'lib'), { recursive: true, dereference: true });
    const share = realpathSync(join(PG_BIN, '..', '..', '..', '..', 'share', 'postgresql'));
    cpSync(share, join(rootfs, share), { recursive: true, dereference: true });
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc/passwd'), `postgres:x:${uid}:${gid}::/data:/nonexistent\n`);
    writeFileSync(join(rootfs, 'etc/group'), `postgres:x:${gid}:\n`);
    // initdb as the host's postgres user (it refuses root); the password comes from a 0600 file, never argv.
    // One level down: COPY keeps a subdirectory's 0700 (PostgreSQL insists), not the target's own mode.
    const data = join(dir, 'data', 'pg');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    chownSync(dir, uid, gid);
    chownSync(dirname(data), uid, gid);
    chownSync(data, uid, gid);
    const pwfile = join(dir, 'pw');
    writeFileSync(pwfile, password, { mode: 0o600 });
    chownSync(pwfile, uid, gid);
    const asPostgres = process.getuid?.() === 0 ? ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'] : [];
    const initdb = [
      join(PG_BIN, 'initdb'),
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '--no-locale',
      '-E',
      'UTF8',
      '--no-sync',
    ];
    execFileSync(asPostgres[0] ?? initdb[0]!, [...asPostgres.slice(1), ...(asPostgres.length ? initdb : initdb.slice(1))], { stdio: 'ignore' });
    rmSync(pwfile);
    // initdb wrote the host's time zone, which the image cannot read (no tzdata): GMT is built in.
    const conf = join(data, 'postgresql.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^(log_timezone|timezone)\s*=.*$/gm, "$1 = 'GMT'"));
    writeFileSync(join(dir, 'Dockerfile'), `FROM scratch\nCOPY rootfs/ /\nCOPY --chown=${uid}:${gid} data/ /data/\nUSER ${uid}:${gid}\n`);
    await GenericContainer.fromDockerfile(dir).build(tag, { deleteOnExit: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * argv of the PostgreSQL container: loopback only, no Unix socket (no /var/run inside), the port
 * from PGPORT.
 */
export const POSTGRES_COMMAND = [
  join(PG_BIN, 'postgres'),
  '-D',
  '/data/pg',
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  'unix_socket_directories=',
  '-c',
  'fsync=off',
];
