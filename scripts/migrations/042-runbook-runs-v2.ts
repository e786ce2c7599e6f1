// Migration 042 of the service's schema: the one game-day 2 ships broken. Renaming the table the
// service reads breaks POST /runbook/:id/run and GET /report/:id. Its SQL lives here once, for the
// drill (what goes in, and the harness's own safety-net revert) and for the team's rollback script.
export const migration042 = {
  id: '042',
  /** The table the service reads, and the name the bad migration gives it. */
  table: 'runbook_runs',
  renamedTo: 'runbook_runs_v2',
  apply: 'ALTER TABLE runbook_runs RENAME TO runbook_runs_v2',
  rollback: 'ALTER TABLE runbook_runs_v2 RENAME TO runbook_runs',
} as const;
