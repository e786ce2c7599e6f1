-- Cases group what one analyst ingested; entities and edges belong to a case.
CREATE TABLE cases (
  id          bigserial PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz
);

CREATE TABLE entities (
  id        bigserial PRIMARY KEY,
  case_id   bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  kind      text   NOT NULL,
  name      text   NOT NULL,
  -- lowercase, trimmed, diacritics stripped: the key entity resolution groups by
  norm_name text   NOT NULL,
  attrs     jsonb  NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX entities_resolution ON entities (case_id, kind, norm_name);

CREATE TABLE edges (
  id        bigserial PRIMARY KEY,
  case_id   bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  from_id   bigint NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
  to_id     bigint NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
  kind      text   NOT NULL
);
CREATE INDEX edges_case ON edges (case_id);
