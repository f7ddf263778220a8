-- Sealed reports, and the assessment version they seal.

-- An assessment is re-evaluated in place when a retried source answers; each evaluation is a new version, and
-- each version is sealed at most once.
alter table assessments add column version integer not null default 1 check (version >= 1);

-- Not partitioned: the unique constraints below (one report per assessment version, one row per token hash and
-- per stored object) must hold across all rows, and reports are few next to assessments.
create table reports (
  id uuid primary key,
  account_id uuid not null references customer_accounts (id),
  assessment_id uuid not null,
  assessment_version integer not null check (assessment_version >= 1),
  -- SHA-256 (hex) of the verification token: the token itself is never stored.
  token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
  -- The canonical payload text exactly as signed, its signature (base64url) and key.
  payload text not null,
  signature text not null,
  kid text not null,
  alg text not null check (alg = 'PS256'),
  verdict text not null check (verdict in ('GREEN', 'RED', 'GREY')),
  pdf_sha256 text not null check (pdf_sha256 ~ '^[0-9a-f]{64}$'),
  storage_key text not null unique,
  lang text not null check (lang in ('fr', 'en')),
  sealed_at timestamptz not null,
  actor_id uuid references users (id),
  correlation_id text,
  superseded_by uuid references reports (id),
  revoked_at timestamptz,
  revocation_reason text,
  unique (assessment_id, assessment_version),
  check ((revoked_at is null) = (revocation_reason is null))
);

create index reports_by_assessment on reports (account_id, assessment_id, assessment_version desc);

-- A seal is evidence: its signed content never changes. Only the supersession link and the revocation may be set,
-- once each.
create function vigilance_reports_are_sealed() returns trigger
language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'reports are kept: DELETE refused' using errcode = '42501';
  end if;
  if (to_jsonb(new) - 'superseded_by' - 'revoked_at' - 'revocation_reason')
       is distinct from (to_jsonb(old) - 'superseded_by' - 'revoked_at' - 'revocation_reason')
     or (old.superseded_by is not null and new.superseded_by is distinct from old.superseded_by)
     or (old.revoked_at is not null and (new.revoked_at is distinct from old.revoked_at
                                         or new.revocation_reason is distinct from old.revocation_reason)) then
    raise exception 'reports: a sealed report only gains a successor or a revocation, once'
      using errcode = '42501';
  end if;
  return new;
end;
$$;

create trigger reports_are_sealed before update or delete on reports
  for each row execute function vigilance_reports_are_sealed();
