// Reference data only this workspace has (published CRD files beside the repository, never copied
// into it). Conformance tests read it where present and say SKIPPED where not: a clone on its own passes.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..', '..');
export const CHAOS_MESH_CRDS = resolve(repoRoot, '../shared/reference/chaos-mesh');
export const K6_OPERATOR_CRD = resolve(repoRoot, '../shared/reference/k6-operator/k6.io_testruns.yaml');
export const haveChaosMeshCrds = existsSync(CHAOS_MESH_CRDS);
