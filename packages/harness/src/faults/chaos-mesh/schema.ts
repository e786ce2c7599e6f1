// Validation of generated objects against the real Chaos Mesh CRD schemas
// (spec.versions[].schema.openAPIV3Schema), read from a folder of the published CRD files the
// user names (DRILLBOOK_CHAOS_MESH_CRDS) — the project ships none and reads nothing outside itself.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type Format, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/** Where a dry run finds the Chaos Mesh CRD files (chaos-mesh.org_*.yaml) to validate against. */
export const CRD_DIR_ENV = 'DRILLBOOK_CHAOS_MESH_CRDS';

export interface SchemaIssue {
  path: string;
  message: string;
}

/**
 * OpenAPI v3.0 schemas (what CRDs carry) differ from JSON Schema draft-07 in a few
 * keywords: boolean exclusiveMinimum/Maximum and `nullable`. Rewrite those; keep the rest.
 */
export function openApiToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(openApiToJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node))
    out[k] =
      k === 'properties' || k === 'patternProperties'
        ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, openApiToJsonSchema(pv)]))
        : openApiToJsonSchema(v);
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[flag] === 'boolean') {
      if (out[flag] && typeof out[bound] === 'number') {
        out[flag] = out[bound];
        delete out[bound];
      } else delete out[flag];
    }
  }
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  delete out.nullable;
  // An int-or-string field with no type of its own (older generators emit none): say it.
  if (out['x-kubernetes-int-or-string'] === true && out.type === undefined && out.anyOf === undefined && out.oneOf === undefined)
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  return out;
}

/** The OpenAPI formats the CRDs use, checked as the API server checks them. */
const KUBERNETES_FORMATS: Record<string, Format> = {
  int32: { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  int64: { type: 'number' as const, validate: (n: number) => Number.isInteger(n) },
  byte: { type: 'string' as const, validate: (s: string) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) },
  'date-time': { type: 'string' as const, validate: (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) },
  'int-or-string': true,
};

export class CrdValidator {
  private readonly validators = new Map<string, ValidateFunction>();

  /** The validator when the published CRD schemas are on this machine, else undefined (a clone on its own). */
  static ifPresent(dir: string): CrdValidator | undefined {
    return existsSync(dir) ? new CrdValidator(dir) : undefined;
  }

  constructor(dir: string, files = ['podchaos', 'networkchaos', 'stresschaos', 'schedules', 'workflows']) {
    if (!existsSync(dir)) throw new Error(`Chaos Mesh CRD schemas not found at ${dir}: objects are not validated against them here`);
    // Kubernetes extensions (x-kubernetes-*) are not JSON Schema keywords: strict mode off lets
    // ajv ignore them. x-kubernetes-preserve-unknown-fields needs nothing more: without
    // additionalProperties: false, JSON Schema keeps unknown fields too.
    const ajv = new Ajv({ strict: false, allErrors: true });
    for (const [name, format] of Object.entries(KUBERNETES_FORMATS)) ajv.addFormat(name, format);
    for (const f of files) {
      const crd = parse(readFileSync(join(dir, `chaos-mesh.org_${f}.yaml`), 'utf8')) as {
        spec: { names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: object } }> };
      };
      for (const v of crd.spec.versions)
        this.validators.set(`${crd.spec.names.kind}/${v.name}`, ajv.compile(openApiToJsonSchema(v.schema.openAPIV3Schema) as object));
    }
  }

  kinds(): string[] {
    return [...this.validators.keys()];
  }

  validate(obj: { apiVersion?: string; kind?: string }): SchemaIssue[] {
    const version = (obj.apiVersion ?? '').split('/')[1] ?? '';
    const v = this.validators.get(`${obj.kind}/${version}`);
    if (!v) return [{ path: 'kind', message: `no CRD schema for ${obj.kind} ${obj.apiVersion}` }];
    if (v(obj)) return [];
    return (v.errors ?? []).map((e) => ({
      path: e.instancePath || '/',
      message: `${e.message ?? 'invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as string[]).join(', ')})` : ''}`,
    }));
  }
}
