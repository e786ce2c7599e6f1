// Deny by default on Kubernetes: the context must be the environment's, and every
// namespace touched must be on its allow-list — checked before any API call.
import type { KubernetesEnvironment } from '../../define/types.ts';

export class SafetyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetyError';
  }
}

export function assertAllowed(env: KubernetesEnvironment, context: string, namespaces: readonly string[]): void {
  if (context !== env.context) throw new SafetyError(`kubeconfig context '${context}' is not the environment's context '${env.context}': refusing to touch it (config field: context)`);
  for (const ns of namespaces)
    if (!env.namespaces.includes(ns)) throw new SafetyError(`namespace '${ns}' is not on the allow-list (${env.namespaces.join(', ')}): refusing to touch it (add it to the environment's namespaces if it is meant to be drilled)`);
}
