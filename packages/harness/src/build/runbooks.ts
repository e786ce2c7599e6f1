// Runbook checks: every runbook has the sections an on-call engineer needs, every
// alert links an existing runbook, and every runbook is linked by some alert.
// `checkRunbookText` and `checkRunbookLinks` are pure; `readRunbooks` is the I/O edge.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DefinitionIssue } from '../define/errors.ts';

export const REQUIRED_SECTIONS = ['Symptom', 'Impact', 'Diagnosis', 'Mitigation', 'Rollback', 'Escalation'] as const;

export interface RunbookProblem extends DefinitionIssue {
  /** The runbook or definition file the problem is in. */
  file: string;
}

/** Sections are `## <Name>` headings; each must have text, and Diagnosis a ```promql block. */
export function checkRunbookText(file: string, text: string): RunbookProblem[] {
  const problems: RunbookProblem[] = [];
  const sections = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const h = /^##\s+(.+?)\s*$/.exec(line);
    if (h) {
      current = h[1]!;
      sections.set(current, '');
    } else if (current !== undefined) {
      sections.set(current, sections.get(current)! + line + '\n');
    }
  }
  for (const name of REQUIRED_SECTIONS) {
    const body = sections.get(name);
    if (body === undefined) {
      problems.push({ file, path: `## ${name}`, problem: 'section missing', fix: `add a "## ${name}" section (required: ${REQUIRED_SECTIONS.join(', ')})` });
    } else if (body.trim() === '') {
      problems.push({ file, path: `## ${name}`, problem: 'section is empty', fix: `write what the on-call engineer needs under "## ${name}"` });
    }
  }
  const diagnosis = sections.get('Diagnosis');
  if (diagnosis !== undefined && !/```promql\n[\s\S]*?\S[\s\S]*?```/.test(diagnosis)) {
    problems.push({ file, path: '## Diagnosis', problem: 'no PromQL query', fix: 'add at least one ```promql fenced block with a query to run' });
  }
  return problems;
}

export interface AlertRunbookLink {
  alert: string;
  /** Repository-relative, e.g. runbooks/graph-api-availability.md. */
  runbook: string;
  /** The definition file the alert came from. */
  source: string;
}

/** Cross-checks alert → runbook links against the runbooks present (repo-relative paths). */
export function checkRunbookLinks(links: AlertRunbookLink[], runbooks: string[]): RunbookProblem[] {
  const present = new Set(runbooks);
  const linked = new Set(links.map((l) => l.runbook));
  const problems: RunbookProblem[] = [];
  for (const l of links) {
    if (!present.has(l.runbook)) {
      problems.push({
        file: l.source,
        path: `${l.alert}.runbook`,
        problem: `alert ${l.alert} links ${l.runbook}, which does not exist`,
        fix: `create ${l.runbook} (sections ${REQUIRED_SECTIONS.join(', ')}) or point the alert at an existing runbook`,
      });
    }
  }
  for (const r of [...present].sort()) {
    if (!linked.has(r)) {
      problems.push({
        file: r,
        path: '(root)',
        problem: 'no alert links this runbook',
        fix: 'link it from an alert (alerting.runbook / runbook) or delete it',
      });
    }
  }
  return problems;
}

export interface Runbook {
  /** Repository-relative path. */
  path: string;
  text: string;
}

export async function readRunbooks(projectRoot: string): Promise<Runbook[]> {
  const dir = path.join(projectRoot, 'runbooks');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const md = names.filter((n) => n.endsWith('.md') && n.toLowerCase() !== 'readme.md').sort();
  return Promise.all(md.map(async (n) => ({ path: `runbooks/${n}`, text: await readFile(path.join(dir, n), 'utf8') })));
}
