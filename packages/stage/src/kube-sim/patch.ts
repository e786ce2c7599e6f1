// The two patch formats an API server accepts for custom resources: JSON merge patch
// (RFC 7386) and JSON patch (RFC 6902). Pure; they return a new document.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function mergePatch(target: Json, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: { [k: string]: Json } = target && typeof target === 'object' && !Array.isArray(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: Json;
  from?: string;
}

const unescape = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');
const tokens = (pointer: string) => (pointer === '' ? [] : pointer.slice(1).split('/').map(unescape));

function parentOf(doc: Json, pointer: string): { parent: Json; key: string } {
  const path = tokens(pointer);
  if (!path.length) throw new Error(`cannot operate on the document root`);
  let cur: Json = doc;
  for (const t of path.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') throw new Error(`path ${pointer} does not exist`);
    cur = Array.isArray(cur) ? (cur[Number(t)] ?? null) : (cur[t] ?? null);
  }
  if (cur === null || typeof cur !== 'object') throw new Error(`path ${pointer} does not exist`);
  return { parent: cur, key: path[path.length - 1]! };
}

function read(doc: Json, pointer: string): Json | undefined {
  let cur: Json | undefined = doc;
  for (const t of tokens(pointer)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(t)] : cur[t];
  }
  return cur;
}

function put(doc: Json, pointer: string, value: Json, replace: boolean) {
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    parent.splice(i, replace ? 1 : 0, value);
  } else {
    if (replace && !(key in (parent as object))) throw new Error(`path ${pointer} does not exist`);
    (parent as { [k: string]: Json })[key] = value;
  }
}

function remove(doc: Json, pointer: string) {
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else {
    if (!(key in (parent as object))) throw new Error(`path ${pointer} does not exist`);
    delete (parent as { [k: string]: Json })[key];
  }
}

export function jsonPatch(target: Json, ops: JsonPatchOp[]): Json {
  const doc = structuredClone(target);
  for (const op of ops) {
    switch (op.op) {
      case 'add':
        put(doc, op.path, structuredClone(op.value ?? null), false);
        break;
      case 'replace':
        put(doc, op.path, structuredClone(op.value ?? null), true);
        break;
      case 'remove':
        remove(doc, op.path);
        break;
      case 'test':
        if (JSON.stringify(read(doc, op.path)) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
        break;
      case 'copy':
      case 'move': {
        const v = read(doc, op.from ?? '');
        if (v === undefined) throw new Error(`path ${op.from} does not exist`);
        if (op.op === 'move') remove(doc, op.from!);
        put(doc, op.path, structuredClone(v), false);
        break;
      }
    }
  }
  return doc;
}
