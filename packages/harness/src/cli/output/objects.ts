// `drill run <drill> --env <kubernetes env> --dry-run -o yaml|json`: the Chaos Mesh objects the run
// would create and nothing else, for `kubectl apply --dry-run=server -f -` or a review. YAML is one
// document per object; JSON is a Kubernetes `v1 List`, the form `kubectl get -o json` prints.
import { stringify } from 'yaml';
import type { ChaosObject } from '../../faults/chaos-mesh/objects.ts';

export type ObjectFormat = 'yaml' | 'json';

export function renderObjects(objects: readonly ChaosObject[], format: ObjectFormat): string {
  if (format === 'json') return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2);
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
