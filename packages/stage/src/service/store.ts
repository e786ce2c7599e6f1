// The service's SQL: every business operation is a function of a pg pool and plain data.
import type { Pool, PoolClient } from 'pg';
import { trace, SpanStatusCode } from '@opentelemetry/api';
import { normaliseName } from './normalise.ts';

const tracer = trace.getTracer('graph-api');

/** Runs fn inside a manual span named after the business step. */
export async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

export interface EntityInput {
  kind: string;
  name: string;
  attrs?: Record<string, unknown>;
}
export interface EdgeInput {
  /** Index into this request's entities, or an entity name from it. */
  from: number | string;
  to: number | string;
  kind: string;
}
export interface Cluster {
  kind: string;
  key: string;
  entityIds: string[];
  names: string[];
}

export class InputError extends Error {}

async function inTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

export function validateIngest(body: unknown): { entities: EntityInput[]; edges: EdgeInput[] } {
  const b = body as { entities?: unknown; edges?: unknown };
  if (!b || !Array.isArray(b.entities) || b.entities.length === 0) throw new InputError('entities must be a non-empty array');
  const entities = b.entities.map((e: unknown, i: number) => {
    const x = e as EntityInput;
    if (!x || typeof x.kind !== 'string' || !x.kind || typeof x.name !== 'string' || !x.name.trim()) {
      throw new InputError(`entities[${i}] needs a kind and a name`);
    }
    return { kind: x.kind, name: x.name, attrs: x.attrs && typeof x.attrs === 'object' ? x.attrs : {} };
  });
  const edges = (Array.isArray(b.edges) ? b.edges : []).map((e: unknown, i: number) => {
    const x = e as EdgeInput;
    if (!x || typeof x.kind !== 'string' || x.from === undefined || x.to === undefined) throw new InputError(`edges[${i}] needs from, to and kind`);
    return x;
  });
  return { entities, edges };
}

function indexOf(ref: number | string, entities: EntityInput[], where: string): number {
  const i = typeof ref === 'number' ? ref : entities.findIndex((e) => e.name === ref);
  if (!Number.isInteger(i) || i < 0 || i >= entities.length) throw new InputError(`${where} refers to no entity of this request`);
  return i;
}

export async function ingest(pool: Pool, input: { entities: EntityInput[]; edges: EdgeInput[] }): Promise<{ caseId: string; entityIds: string[] }> {
  const edgeIdx = input.edges.map((e, i) => ({
    from: indexOf(e.from, input.entities, `edges[${i}].from`),
    to: indexOf(e.to, input.entities, `edges[${i}].to`),
    kind: e.kind,
  }));
  return inTransaction(pool, async (c) => {
    const caseId = (await c.query<{ id: string }>('INSERT INTO cases DEFAULT VALUES RETURNING id')).rows[0]!.id;
    const ents = await step('ingest.entities', () =>
      c.query<{ id: string }>(
        `INSERT INTO entities (case_id, kind, name, norm_name, attrs)
         SELECT $1, k, n, nn, a FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[]) AS t(k, n, nn, a)
         RETURNING id`,
        [
          caseId,
          input.entities.map((e) => e.kind),
          input.entities.map((e) => e.name),
          input.entities.map((e) => normaliseName(e.name)),
          input.entities.map((e) => JSON.stringify(e.attrs ?? {})),
        ],
      ),
    );
    const entityIds = ents.rows.map((r) => r.id);
    if (edgeIdx.length) {
      await step('ingest.edges', () =>
        c.query(`INSERT INTO edges (case_id, from_id, to_id, kind) SELECT $1, f, t, k FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS x(f, t, k)`, [
          caseId,
          edgeIdx.map((e) => entityIds[e.from]),
          edgeIdx.map((e) => entityIds[e.to]),
          edgeIdx.map((e) => e.kind),
        ]),
      );
    }
    return { caseId, entityIds };
  });
}

/** Entity resolution: entities of one kind whose normalised names match form a cluster. */
async function clustersOf(pool: Pool, caseId: string): Promise<Cluster[]> {
  const { rows } = await pool.query<{ kind: string; norm_name: string; ids: string[]; names: string[] }>(
    `SELECT kind, norm_name, array_agg(id::text ORDER BY id) AS ids, array_agg(name ORDER BY id) AS names
       FROM entities WHERE case_id = $1
      GROUP BY kind, norm_name HAVING count(*) > 1
      ORDER BY kind, norm_name`,
    [caseId],
  );
  return rows.map((r) => ({ kind: r.kind, key: r.norm_name, entityIds: r.ids, names: r.names }));
}

async function caseExists(pool: Pool, caseId: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(caseId)) return false;
  return (await pool.query('SELECT 1 FROM cases WHERE id = $1', [caseId])).rowCount === 1;
}

export async function resolve(pool: Pool, caseId: string): Promise<{ caseId: string; clusters: Cluster[] } | undefined> {
  if (!(await step('resolve.load', () => caseExists(pool, caseId)))) return undefined;
  const clusters = await step('resolve.match', () => clustersOf(pool, caseId));
  await step('resolve.record', () => pool.query('UPDATE cases SET resolved_at = now() WHERE id = $1', [caseId]));
  return { caseId, clusters };
}

export async function recordRunbookRun(pool: Pool, runbookId: string, caseId: string | undefined): Promise<{ runId: string; status: string }> {
  if (caseId !== undefined && !(await caseExists(pool, caseId))) throw new InputError(`case ${caseId} does not exist`);
  const { rows } = await step('runbook.record', () =>
    pool.query<{ id: string; status: string }>(`INSERT INTO runbook_runs (runbook_id, case_id, status) VALUES ($1, $2, 'accepted') RETURNING id, status`, [
      runbookId,
      caseId ?? null,
    ]),
  );
  return { runId: rows[0]!.id, status: rows[0]!.status };
}

export async function report(pool: Pool, caseId: string) {
  if (!(await step('report.load', () => caseExists(pool, caseId)))) return undefined;
  return step('report.assemble', async () => {
    const [entities, edges, clusters, runs] = await Promise.all([
      pool.query('SELECT id::text AS id, kind, name, attrs FROM entities WHERE case_id = $1 ORDER BY id', [caseId]),
      pool.query('SELECT id::text AS id, from_id::text AS "from", to_id::text AS "to", kind FROM edges WHERE case_id = $1 ORDER BY id', [caseId]),
      clustersOf(pool, caseId),
      pool.query('SELECT id::text AS "runId", runbook_id AS "runbookId", status, created_at AS "createdAt" FROM runbook_runs WHERE case_id = $1 ORDER BY id', [
        caseId,
      ]),
    ]);
    return { caseId, entities: entities.rows, edges: edges.rows, clusters, runs: runs.rows };
  });
}

export async function ping(pool: Pool, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
  try {
    return await Promise.race([
      pool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
