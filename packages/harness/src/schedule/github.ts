// `drill schedule --emit github`: a GitHub Actions workflow that runs each drill on its cron (and by
// hand), with the signing key from a repository secret, the evidence pack uploaded and the JUnit
// results published — also when the drill fails. Pure but for reading the stage's package list.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { SIGNING_KEY_FILE_ENV } from '../evidence/keys.ts';
import { dnsLabel } from '../faults/chaos-mesh/objects.ts';

/** The Node line the workflow and the runner image use: the one `npm start`/`npm test` use (tools/setup.mjs). */
export const NODE_LINE = 24;
/** The repository secret holding the private signing key (PEM). */
export const SIGNING_KEY_SECRET = 'DRILLBOOK_SIGNING_KEY';

/** The Debian packages the local stage needs (optional ones left out), from @drillbook/stage's system-requirements.json. */
export function stagePackages(): string[] {
  const dir = dirname(createRequire(import.meta.url).resolve('@drillbook/stage/package.json'));
  const reqs = (JSON.parse(readFileSync(join(dir, 'system-requirements.json'), 'utf8')) as { packages: Array<{ package: string; optional?: boolean }> })
    .packages;
  return reqs.filter((r) => !r.optional).map((r) => r.package);
}

export interface GithubEmitOptions {
  envName: string;
  /** Only `local` starts the stage on the runner, so only it installs the stage's packages. */
  envKind: string;
  evidenceDir: string;
  /** Debian packages to install (for a local environment). */
  packages: string[];
  release?: string;
}

/** A job id from the drill file: lowercase letters, digits and dashes, starting with a letter. */
export function jobId(file: string): string {
  const base = dnsLabel(file.replace(/^.*\//, '').replace(/\.ts$/, ''));
  return /^[a-z]/.test(base) ? base : `drill-${base}`;
}

/** Pure: the workflow as an object (one job per drill; a scheduled event runs only the jobs of the cron that fired). */
export function githubWorkflow(drills: Array<{ file: string; cron: string }>, o: GithubEmitOptions): Record<string, unknown> {
  const crons = [...new Set(drills.map((d) => d.cron))];
  const release = o.release ?? 'nightly';
  const jobs: Record<string, unknown> = {};
  for (const d of drills) {
    const id = jobId(d.file);
    jobs[id] = {
      name: `drill ${d.file} on ${o.envName}`,
      // Every cron of the workflow fires every job otherwise: github.event.schedule names the one that fired.
      if: `github.event_name == 'workflow_dispatch' || github.event.schedule == '${d.cron}'`,
      'runs-on': 'ubuntu-latest',
      'timeout-minutes': 120,
      steps: [
        { uses: 'actions/checkout@v4' },
        { uses: 'actions/setup-node@v4', with: { 'node-version': NODE_LINE, cache: 'npm' } },
        { run: 'npm ci' },
        ...(o.envKind === 'local'
          ? [
              {
                name: "Install the local stage's Debian packages",
                run: `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${o.packages.join(' ')}`,
              },
            ]
          : []),
        {
          name: 'Signing key from the repository secret',
          env: { [SIGNING_KEY_SECRET]: `\${{ secrets.${SIGNING_KEY_SECRET} }}` },
          run: [
            `test -n "$${SIGNING_KEY_SECRET}" || { echo "::error::set the repository secret ${SIGNING_KEY_SECRET} to the PEM private key the evidence is signed with"; exit 1; }`,
            'umask 077',
            'key="$RUNNER_TEMP/drillbook-signing.key"',
            `printf '%s\\n' "$${SIGNING_KEY_SECRET}" > "$key"`,
            'chmod 600 "$key"',
            `echo "${SIGNING_KEY_FILE_ENV}=$key" >> "$GITHUB_ENV"`,
          ].join('\n'),
        },
        // The run writes its JUnit report into the pack (junit/<run-id>.xml): there is no separate flag for it.
        { name: `Run ${d.file}`, run: `npx drill run ${d.file} --env ${o.envName} --release ${release}` },
        {
          name: 'Upload the evidence pack',
          if: 'always()',
          uses: 'actions/upload-artifact@v4',
          with: { name: `evidence-${id}`, path: `${o.evidenceDir}/`, 'if-no-files-found': 'warn' },
        },
        {
          name: 'Publish the JUnit results',
          if: 'always()',
          uses: 'dorny/test-reporter@v1',
          with: { name: `drill ${d.file}`, path: `${o.evidenceDir}/**/junit/*.xml`, reporter: 'java-junit', 'fail-on-empty': 'false' },
        },
        { name: 'Remove the signing key', if: 'always()', run: `rm -f "$${SIGNING_KEY_FILE_ENV}"` },
      ],
    };
  }
  return {
    name: 'drills',
    on: { schedule: crons.map((cron) => ({ cron })), workflow_dispatch: {} },
    // dorny/test-reporter writes a check run.
    permissions: { contents: 'read', checks: 'write' },
    // Never two runs against one environment at once; a run waits for the one before it.
    concurrency: { group: `drills-${o.envName}`, 'cancel-in-progress': false },
    jobs,
  };
}

export function githubWorkflowYaml(drills: Array<{ file: string; cron: string }>, o: GithubEmitOptions): string {
  return `# drill schedule --emit github (docs/pipelines.md): save as .github/workflows/drills.yml\n${stringify(githubWorkflow(drills, o), { lineWidth: 0 })}`;
}
