// The mitigations of one run, for the timeline: the phase's remediation script started when its
// alert reaches the harness through Alertmanager, and the marks a person makes with `drill
// mitigate`. Each attempt is reported once it has finished; the timeline records it.
import type { AwaitedMitigation, MitigationFeed, MitigationReport } from '../engine/timeline.ts';
import type { RunEvent } from '../engine/types.ts';
import { channelSize, readMarks } from './mitigation-channel.ts';
import { remediationEnv, runRemediationScript } from './remediation.ts';

type AlertEvent = Extract<RunEvent, { kind: 'alert' }>;

export interface RunMitigationsOptions {
  projectRoot: string;
  runId: string;
  environment: string;
  now: () => number;
  /** The URL a script gets for a target (undefined: the target has none). */
  targetUrl: (target: string) => string | undefined;
  /** The channel `drill mitigate` appends to; no person's marks without it. */
  channelFile?: string;
  /** How often the channel is read while a fault waits. @default 250 */
  pollMs?: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Pure: does this alert event start the remediation of this fault? Only a firing that came through Alertmanager after the fault went in. */
export function startsRemediation(event: RunEvent, fault: AwaitedMitigation): event is AlertEvent {
  const r = fault.phase.remediate;
  return (
    r !== undefined &&
    event.kind === 'alert' &&
    event.source === 'alertmanager' &&
    event.state === 'firing' &&
    event.alert === r.onAlert &&
    event.t >= fault.tInject
  );
}

export class RunMitigations implements MitigationFeed {
  private readonly listeners = new Set<(e: RunEvent) => void>();

  constructor(private readonly opts: RunMitigationsOptions) {}

  /** Every run-log event goes through here (the alert watcher's among them). */
  observe(event: RunEvent): void {
    if (event.kind !== 'alert') return;
    for (const l of this.listeners) l(event);
  }

  watch(fault: AwaitedMitigation, report: (m: MitigationReport) => void, signal: AbortSignal): Promise<void> {
    const attempts: Promise<void>[] = [];
    const r = fault.phase.remediate;
    let started = false;
    const onEvent = (e: RunEvent) => {
      if (started || signal.aborted || !r || !startsRemediation(e, fault)) return;
      started = true; // once per fault: Alertmanager repeats a notification, the rollback must not run twice
      const startedAt = this.opts.now();
      const target = r.target ?? (fault.phase.fault && 'target' in fault.phase.fault ? fault.phase.fault.target : undefined);
      const targetUrl = target ? this.opts.targetUrl(target) : undefined;
      this.opts.log('info', `${e.alert} reached the harness through Alertmanager: running ${r.run}`);
      const env = remediationEnv({
        environment: this.opts.environment,
        alert: e.alert,
        labels: e.labels,
        runId: this.opts.runId,
        faultId: fault.faultId,
        phase: fault.phase.name,
        ...(target ? { target } : {}),
        ...(targetUrl ? { targetUrl } : {}),
      });
      attempts.push(
        runRemediationScript(this.opts.projectRoot, r.run, env, { timeoutMs: r.timeout }, signal).then((run) => {
          // A killed script says nothing about why: the harness's reason goes last, where a reader looks.
          const output = run.exitCode === null && run.error ? `${run.output}\n[drillbook] ${run.error}`.trim() : run.output;
          this.opts.log(run.ok ? 'info' : 'warn', `${r.run} ${run.ok ? 'succeeded' : `failed: ${run.error}`} after ${run.durationMs} ms`);
          report({ startedAt, by: 'alert-remediation', ok: run.ok, alert: e.alert, script: r.run, exitCode: run.exitCode, output });
        }),
      );
    };
    this.listeners.add(onEvent);

    // A person's marks: read from what is appended after the fault began waiting.
    const file = this.opts.channelFile;
    const polling = file
      ? (async () => {
          let offset = channelSize(file);
          const every = this.opts.pollMs ?? 250;
          while (!signal.aborted) {
            await new Promise<void>((resolve) => {
              const onAbort = () => (clearTimeout(timer), resolve());
              const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), every);
              signal.addEventListener('abort', onAbort, { once: true });
            });
            const read = readMarks(file, offset);
            offset = read.offset;
            for (const m of read.marks) {
              if (m.phase !== undefined && m.phase !== fault.phase.name) {
                this.opts.log('warn', `a mitigation mark for phase '${m.phase}' came while '${fault.phase.name}' waits: ignored`);
                continue;
              }
              this.opts.log('info', `mitigation marked by a person: ${m.note}${m.revert ? ' (the harness reverts the fault)' : ''}`);
              report({ startedAt: Math.max(m.t, fault.tInject), by: 'person', ok: true, note: m.note, revert: m.revert });
            }
          }
        })()
      : Promise.resolve();

    return new Promise<void>((resolve) => {
      const finish = async () => {
        this.listeners.delete(onEvent);
        await polling;
        await Promise.all(attempts);
        resolve();
      };
      if (signal.aborted) void finish();
      else signal.addEventListener('abort', () => void finish(), { once: true });
    });
  }
}
