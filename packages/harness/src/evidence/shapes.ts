// The shape of every pack document `drill verify` and sealing read, checked before any field
// is used: a pack may be hostile, and a wrong type must become a named failure, not a crash.
// Each check returns the first problem as "<field>: <what is wrong>", or undefined.
import { isSafePackPath } from './pack-fs.ts';

type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isHex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/** Run ids and bake names become file names: letters, digits, dot, dash, underscore only. */
export const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const isSafeId = (v: unknown): v is string => typeof v === 'string' && SAFE_ID.test(v);

export function manifestProblem(m: unknown): string | undefined {
  if (!isObj(m)) return 'the manifest is not a JSON object';
  if (m.schema !== 'drillbook.manifest/v1') return `schema: ${JSON.stringify(m.schema)}, expected "drillbook.manifest/v1"`;
  if (!Array.isArray(m.files)) return 'files: not an array';
  const seen = new Set<string>();
  for (let i = 0; i < m.files.length; i++) {
    const f: unknown = m.files[i];
    if (!isObj(f)) return `files[${i}]: not an object`;
    if (!isSafePackPath(f.path)) return `files[${i}].path: ${JSON.stringify(f.path)} is not a plain path inside the pack`;
    if (!isHex64(f.sha256)) return `files[${i}].sha256: not 64 lowercase hex digits`;
    if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) return `files[${i}].size: not a byte count`;
    if (seen.has(f.path)) return `files[${i}].path: ${f.path} is listed twice`;
    seen.add(f.path);
  }
  return undefined;
}

export function envelopeProblem(e: unknown): string | undefined {
  if (!isObj(e)) return 'the statement is not a JSON object';
  if (typeof e.payloadType !== 'string') return 'payloadType: not a string';
  if (typeof e.payload !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(e.payload)) return 'payload: not base64';
  if (!Array.isArray(e.signatures) || e.signatures.length === 0) return 'signatures: not a non-empty array';
  for (let i = 0; i < e.signatures.length; i++) {
    const s: unknown = e.signatures[i];
    if (!isObj(s) || typeof s.keyid !== 'string' || typeof s.sig !== 'string') return `signatures[${i}]: not {keyid, sig} strings`;
  }
  return undefined;
}

export function statementProblem(s: unknown): string | undefined {
  if (!isObj(s)) return 'payload: not a JSON object';
  if (!Array.isArray(s.subject)) return 'payload.subject: not an array';
  for (let i = 0; i < s.subject.length; i++) {
    const x: unknown = s.subject[i];
    if (!isObj(x) || !isSafePackPath(x.name)) return `payload.subject[${i}].name: not a plain path inside the pack`;
    if (!isObj(x.digest) || !isHex64(x.digest.sha256)) return `payload.subject[${i}].digest.sha256: not 64 lowercase hex digits`;
  }
  if (!isObj(s.predicate)) return 'payload.predicate: not an object';
  return undefined;
}

const VERDICTS = ['pass', 'fail', 'aborted', 'error'];

/** The fields of a run record that verify and sealing read (the re-derivation reads the rest). */
export function runRecordProblem(r: unknown): string | undefined {
  if (!isObj(r)) return 'not a JSON object';
  if (!isSafeId(r.runId)) return `runId: ${JSON.stringify(r.runId)} is not a run id (letters, digits, '.', '-', '_')`;
  for (const k of ['drill', 'environment'] as const) if (typeof r[k] !== 'string') return `${k}: not a string`;
  for (const k of ['startedAt', 'endedAt'] as const) if (!isNum(r[k])) return `${k}: not a number`;
  if (typeof r.verdict !== 'string' || !VERDICTS.includes(r.verdict)) return `verdict: ${JSON.stringify(r.verdict)}, expected one of ${VERDICTS.join(', ')}`;
  if (!isObj(r.plan) || !Array.isArray(r.plan.steadyState) || !Array.isArray(r.plan.phases)) return 'plan: not a drill plan (steadyState and phases arrays)';
  if (!Array.isArray(r.events)) return 'events: not an array';
  for (let i = 0; i < r.events.length; i++) {
    const e: unknown = r.events[i];
    if (!isObj(e) || !isNum(e.t) || typeof e.kind !== 'string') return `events[${i}]: not an event ({t: number, kind: string})`;
  }
  if (!isObj(r.measures)) return 'measures: not an object';
  for (const [name, m] of Object.entries(r.measures)) {
    if (!isObj(m) || !(m.value === null || isNum(m.value))) return `measures.${name}.value: not a number or null`;
  }
  if (r.checks !== undefined && !Array.isArray(r.checks)) return 'checks: not an array';
  const hb = r.heartbeat;
  if (hb !== undefined && (!isObj(hb) || !Array.isArray(hb.acks) || !Array.isArray(hb.surviving))) return 'heartbeat: not {acks, surviving}';
  if (r.coverageRequests !== undefined && !Array.isArray(r.coverageRequests)) return 'coverageRequests: not an array';
  if (r.prometheusSli !== undefined && (!isObj(r.prometheusSli) || !Array.isArray(r.prometheusSli.series))) return 'prometheusSli.series: not an array';
  const slis = r.prometheusSlis;
  const isSli = (x: unknown) => isObj(x) && Array.isArray(x.series);
  if (slis !== undefined && (!Array.isArray(slis) || !slis.every(isSli))) return 'prometheusSlis: not an array of {series}';
  if (r.slos !== undefined && !isObj(r.slos)) return 'slos: not an object';
  return undefined;
}

export function spansDocProblem(d: unknown): string | undefined {
  if (!isObj(d) || !Array.isArray(d.spans)) return 'spans: not an array';
  for (let i = 0; i < d.spans.length; i++) {
    const sp: unknown = d.spans[i];
    if (!isObj(sp) || typeof sp.traceId !== 'string') return `spans[${i}]: not a span with a traceId`;
  }
  return undefined;
}

export function bakeRecordProblem(b: unknown): string | undefined {
  if (!isObj(b)) return 'not a JSON object';
  if (!isSafeId(b.bake)) return `bake: ${JSON.stringify(b.bake)} is not a bake name (letters, digits, '.', '-', '_')`;
  if (!Number.isSafeInteger(b.startedAt)) return 'startedAt: not a time in ms';
  for (const k of ['duration', 'checkpoint'] as const) if (!isNum(b[k]) || (b[k] as number) <= 0) return `${k}: not a positive number`;
  if (!isObj(b.criteria)) return 'criteria: not an object';
  if (!Array.isArray(b.checkpoints)) return 'checkpoints: not an array';
  for (let i = 0; i < b.checkpoints.length; i++) {
    const c: unknown = b.checkpoints[i];
    const ok = isObj(c) && Number.isSafeInteger(c.index) && (c.index as number) >= 0 && (c.index as number) <= 9999;
    if (!ok) return `checkpoints[${i}].index: not a checkpoint index`;
  }
  return undefined;
}
