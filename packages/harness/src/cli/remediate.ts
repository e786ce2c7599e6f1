// `drill remediate --listen`: serve the drills' remediation scripts to the team's Alertmanager.
// `drill mitigate`: mark, from another terminal, that a running drill's fault was mitigated.
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { isDefinedDrill } from '../define/drill.ts';
import { DefinitionError } from '../define/errors.ts';
import type { DefinedDrill, EnvironmentConfig } from '../define/types.ts';
import { ExitCode } from '../engine/types.ts';
import { UsageError } from '../errors.ts';
import { configuredEnvironment, findDrills, findProjectRoot, loadConfig, loadDefinitions } from '../project/loader.ts';
import { appendMitigation, findMitigationChannel } from '../session/mitigation-channel.ts';
import { parseListenAddress, RemediationListener, type ServedRemediation } from '../session/remediate-listener.ts';
import { remediationIssues, remediationsOf } from '../session/remediation.ts';
import type { mitigateSpec, remediateSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

/** The bearer token from a file or an environment variable; never from the command line (ps shows it). */
function readToken(flags: Parsed<typeof remediateSpec>['flags']): string {
  let token: string | undefined;
  if (flags['token-file']) {
    try {
      token = readFileSync(flags['token-file'], 'utf8').trim();
    } catch (err) {
      throw new UsageError(`--token-file ${flags['token-file']}: ${(err as Error).message}`);
    }
  } else token = process.env[flags['token-env']]?.trim();
  const from = flags['token-file'] ? `the file ${flags['token-file']}` : `$${flags['token-env']}`;
  if (!token)
    throw new UsageError(`no bearer token in ${from}: every request must authenticate; set it to a long random secret, and give Alertmanager the same one`);
  if (token.length < 16) throw new UsageError(`the bearer token in ${from} has ${token.length} characters: use at least 16 (e.g. openssl rand -hex 32)`);
  return token;
}

async function drillsToServe(projectRoot: string, files: string[]): Promise<Array<{ file: string; drill: DefinedDrill }>> {
  const paths = files.length ? files.map((f) => resolve(f)) : (await findDrills(join(projectRoot, 'drills'), projectRoot)).drills.map((d) => d.file);
  const out: Array<{ file: string; drill: DefinedDrill }> = [];
  for (const file of [...new Set(paths)]) {
    const loaded = await loadDefinitions(file, projectRoot);
    for (const d of loaded.definitions) if (isDefinedDrill(d.value)) out.push({ file, drill: d.value });
  }
  return out;
}

function targetUrlOf(env: EnvironmentConfig): (target: string) => string | undefined {
  return (target) => {
    if (env.kind === 'local' || env.kind === 'containers') return undefined;
    const url = env.targets[target]?.url;
    return typeof url === 'string' ? url : undefined; // a URL kept in a Secret is read when a run opens the cluster
  };
}

export async function remediateCommand({ positionals, flags }: Parsed<typeof remediateSpec>, io: CliIo): Promise<number> {
  const projectRoot = findProjectRoot();
  const token = readToken(flags);
  let address: { host: string; port: number };
  try {
    address = parseListenAddress(flags.listen);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { host, port } = address;
  const loaded = await loadConfig(projectRoot);
  const env = configuredEnvironment(loaded, flags.env);

  const served: ServedRemediation[] = [];
  const seen = new Set<string>();
  for (const { file, drill } of await drillsToServe(projectRoot, positionals['drill-file'])) {
    const issues = remediationIssues(drill.plan, projectRoot);
    if (issues.length) throw new DefinitionError(file, issues);
    for (const r of remediationsOf(drill.plan)) {
      const key = `${r.remediate.onAlert}|${r.remediate.run}|${r.target ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      served.push({ remediate: r.remediate, ...(r.target ? { target: r.target } : {}), from: `${relative(projectRoot, file)} phase ${r.phase}` });
    }
  }
  if (served.length === 0) {
    io.err("no drill declares a remediation: add remediate: { onAlert: 'GraphApiRouteFailing', run: 'scripts/rollback-on-alert.ts' } to a phase");
    return ExitCode.usage;
  }
  const targetUrl = targetUrlOf(env);
  for (const s of served)
    if (s.target && !targetUrl(s.target))
      io.err(`warn: environment '${flags.env}' gives target '${s.target}' no url: ${s.remediate.run} gets no DRILLBOOK_TARGET_URL`);

  const listener = new RemediationListener({
    projectRoot,
    environment: flags.env,
    remediations: served,
    token,
    host,
    port,
    targetUrl,
    // One JSON line per action on stdout: the log a reviewer (or a test) reads.
    onAction: (a) => {
      io.out(JSON.stringify(a));
      io.err(`${a.ok ? '✓' : '✗'} ${a.script} for ${a.alert}: ${a.ok ? 'done' : (a.error ?? 'failed')} in ${a.durationMs} ms`);
    },
    log: (line) => io.err(line),
  });
  let url: string;
  try {
    url = await listener.listen();
  } catch (err) {
    throw new UsageError(`cannot listen on ${flags.listen}: ${(err as Error).message}`);
  }
  io.err(`listening on ${url} (environment '${flags.env}'); Alertmanager must send Authorization: Bearer <token>`);
  for (const s of served) io.err(`  ${s.remediate.onAlert} → ${s.remediate.run} (${s.from})`);
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  io.err('stopping: waiting for running scripts…');
  await listener.close();
  return ExitCode.pass;
}

export async function mitigateCommand({ flags }: Parsed<typeof mitigateSpec>, io: CliIo): Promise<number> {
  const projectRoot = findProjectRoot();
  let channel: ReturnType<typeof findMitigationChannel>;
  try {
    channel = findMitigationChannel(projectRoot, flags.run);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (flags.phase !== undefined && !channel.header.phases.includes(flags.phase))
    throw new UsageError(`--phase ${flags.phase}: run ${channel.header.runId} waits for mitigation only in ${channel.header.phases.join(', ')}`);
  const t = Date.now();
  appendMitigation(channel.file, { t, note: flags.note, revert: flags.revert, ...(flags.phase !== undefined ? { phase: flags.phase } : {}) });
  io.out(
    `marked: run ${channel.header.runId} (${channel.header.drill}) mitigated at ${new Date(t).toISOString()} — ${flags.note}` +
      (flags.revert ? '; the harness reverts the fault' : '; the fault counts as out once the steady state holds again'),
  );
  return ExitCode.pass;
}
