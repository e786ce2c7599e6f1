// JUnit XML for every drill run, so CI systems show drills like tests: one test suite per
// run, one test case per check, a failure with the check's detail when it did not hold.
import type { RunRecord } from './run-record.ts';

const x = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function junitXml(record: RunRecord): string {
  const failures = record.checks.filter((c) => !c.ok).length + (record.verdict === 'aborted' || record.verdict === 'error' ? 1 : 0);
  const seconds = ((record.endedAt - record.startedAt) / 1000).toFixed(3);
  const cases = record.checks.map(
    (c) => `    <testcase classname="drillbook.${x(record.drill)}" name="${x(c.name)}">${c.ok ? '' : `<failure message="${x(c.detail)}"/>`}</testcase>`,
  );
  if (record.verdict === 'aborted' || record.verdict === 'error')
    cases.push(
      `    <testcase classname="drillbook.${x(record.drill)}" name="run completed"><failure message="${x(`${record.verdict}: ${record.reason ?? ''}`)}"/></testcase>`,
    );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="drillbook" tests="${cases.length}" failures="${failures}" time="${seconds}">`,
    `  <testsuite name="${x(record.drill)} (${x(record.runId)})" tests="${cases.length}" failures="${failures}" time="${seconds}" timestamp="${new Date(record.startedAt).toISOString()}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
