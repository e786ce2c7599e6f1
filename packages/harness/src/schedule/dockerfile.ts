// The runner image of `drill schedule --emit k8s`: the team's repository with its dependencies,
// run as the unprivileged `node` user, `npx drill` as the entrypoint (the CronJob gives the rest).
import { existsSync, writeFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { NODE_LINE } from './github.ts';
import { WORKDIR } from './k8s.ts';

export const DOCKERFILE = `# syntax=docker/dockerfile:1
# The drill runner image for the CronJobs of \`drill schedule --emit k8s\` (docs/pipelines.md).
# Build and push it from CI:  docker build -t <registry>/drillbook-runner:<tag> .
# Keep evidence-pack/, .drillbook/ and node_modules/ out of it with a .dockerignore.
FROM node:${NODE_LINE}-bookworm-slim
WORKDIR ${WORKDIR}
RUN chown node:node ${WORKDIR}
USER node
COPY --chown=node:node . .
RUN npm ci && npm run build --if-present
ENTRYPOINT ["npx", "drill"]
`;

/** Writes the Dockerfile at `path`; an existing file is never overwritten (exit 2). */
export function writeDockerfile(path: string): void {
  if (existsSync(path)) throw new UsageError(`${path} already exists: not overwriting it (remove it, or give --dockerfile another path)`);
  writeFileSync(path, DOCKERFILE, { flag: 'wx' });
}
