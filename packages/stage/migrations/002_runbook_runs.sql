-- Runbook runs recorded against the service (POST /runbook/:id/run).
CREATE TABLE runbook_runs (
  id          bigserial PRIMARY KEY,
  runbook_id  text   NOT NULL,
  case_id     bigint REFERENCES cases(id) ON DELETE SET NULL,
  status      text   NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runbook_runs_case ON runbook_runs (case_id);
