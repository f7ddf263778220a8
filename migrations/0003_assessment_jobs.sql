-- Work that remains on an assessment after its first evaluation: retrying a registry that did not answer, and
-- sealing a new report version after a re-evaluation. Scheduled by the application's clock, claimed by workers with
-- SKIP LOCKED and a lease (ADR 0003).

-- What the assessment was evaluated from (each source's outcome, with its facts), so a retried source's answer can
-- be put in the place of its outage and the verdict decided again.
alter table assessments add column evaluation jsonb;

create table assessment_jobs (
  id uuid primary key,
  account_id uuid not null references customer_accounts (id),
  assessment_id uuid not null,
  kind text not null check (kind in ('retry_source', 'seal')),
  source text check (source in ('sirene', 'bodacc', 'vies')),
  state text not null check (state in ('PENDING', 'DONE', 'FINAL')),
  -- Attempts made so far (the assessment's own call is the first); a postponement is not an attempt.
  attempt integer not null default 0 check (attempt >= 0),
  -- The first failure: the retry window runs from it.
  first_failed_at timestamptz,
  next_attempt_at timestamptz not null,
  last_reason text,
  -- A worker's lease: past it, the job is due again (the worker died or stalled).
  locked_by text,
  locked_until timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  check ((kind = 'retry_source') = (source is not null))
);

-- One pending job of a kind per assessment and source.
create unique index assessment_jobs_one_pending
  on assessment_jobs (assessment_id, kind, coalesce(source, ''))
  where state = 'PENDING';
create index assessment_jobs_due on assessment_jobs (next_attempt_at) where state = 'PENDING';
create index assessment_jobs_by_assessment on assessment_jobs (assessment_id);
