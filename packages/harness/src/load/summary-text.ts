// The end-of-test table, in the spirit of k6's: one line per metric with its values,
// ✓/✗ on thresholds. Pure.
import type { LoadSummary } from './runner.ts';
import { maxOf } from '../util/arrays.ts';

const fmt = (name: string, key: string, v: number, contains: string) => {
  if (contains === 'time') return `${key}=${v < 1 ? `${(v * 1000).toFixed(0)}µs` : v < 1000 ? `${v.toFixed(2)}ms` : `${(v / 1000).toFixed(2)}s`}`;
  if (contains === 'data') return `${key}=${v > 1e6 ? `${(v / 1e6).toFixed(1)} MB` : `${(v / 1e3).toFixed(1)} kB`}`;
  if (key === 'rate' && name !== 'http_reqs' && name !== 'iterations' && name !== 'data_sent' && name !== 'data_received' && name !== 'dropped_iterations')
    return `${key}=${(v * 100).toFixed(2)}%`;
  return `${key}=${Number.isInteger(v) ? v : v.toFixed(2)}${key === 'rate' ? '/s' : ''}`;
};

export function renderLoadSummary(profile: string, s: LoadSummary): string {
  const lines = [
    `load ${profile}: ${s.thresholdsOk ? 'thresholds passed' : 'THRESHOLDS FAILED'}${s.state.aborted ? ` (aborted${s.state.abortReason ? `: ${s.state.abortReason}` : ''})` : ''} in ${(s.state.testRunDurationMs / 1000).toFixed(1)} s`,
    '',
  ];
  for (const c of s.root_group.checks) lines.push(`  ${c.fails === 0 ? '✓' : '✗'} ${c.name}  (${c.passes} passed, ${c.fails} failed)`, '');
  const names = Object.keys(s.metrics).sort();
  const width = maxOf(names.map((n) => n.length));
  for (const n of names) {
    const m = s.metrics[n]!;
    const th = m.thresholds ? (Object.values(m.thresholds).every((t) => t.ok) ? '✓ ' : '✗ ') : '  ';
    const values = Object.entries(m.values)
      .map(([k, v]) => fmt(n, k, v, m.contains))
      .join(' ');
    lines.push(`  ${th}${n.padEnd(width, '.')}: ${values || '(no data)'}`);
  }
  const g = s.generator;
  const threads = g?.workerCpuSeconds ? `, ${g.workers} worker threads: ${g.workerCpuSeconds.map((c) => c.toFixed(2)).join(' + ')} CPU-s` : '';
  const share = g ? `${(g.cpuShare * 100).toFixed(1)} % of one core (whole process${threads})` : '';
  if (g) lines.push('', `  generator: ${g.cpuSeconds.toFixed(2)} CPU-s over ${g.wallSeconds.toFixed(1)} s = ${share}`);
  return lines.join('\n');
}
