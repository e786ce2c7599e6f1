// Deny by default on Kubernetes: the context must be the environment's, and every
// namespace touched must be on its allow-list — checked before any API call.
import type { KubernetesEnvironment } from '../define/types.ts';
import { UsageError } from '../errors.ts';

/** A refusal on safety grounds: exit 2, like any other request the harness will not carry out. */
export class SafetyError extends UsageError {
  override name = 'SafetyError';
}

/** Throws a SafetyError naming what was refused and the config field to change; returns when all is allowed. */
export function assertAllowed(env: KubernetesEnvironment, context: string, namespaces: readonly string[], envName = '<env>'): void {
  if (context !== env.context)
    throw new SafetyError(
      `kubeconfig context '${context}' is not the environment's context '${env.context}': refusing to touch it (switch context, or change environments.${envName}.context if '${context}' is really meant)`,
    );
  for (const ns of namespaces)
    if (!env.namespaces.includes(ns))
      throw new SafetyError(
        `namespace '${ns}' is not on the allow-list (${env.namespaces.join(', ')}): refusing to touch it (add it to environments.${envName}.namespaces if it is meant to be drilled)`,
      );
}
