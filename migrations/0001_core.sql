-- Vigilance core schema. Applied identically to PostgreSQL 15+ and to embedded PGlite.

create extension if not exists btree_gist;

-- Accounts and tenancy ---------------------------------------------------------------------------------------

create table customer_accounts (
  id uuid primary key,
  name text not null,
  tenancy_mode text not null check (tenancy_mode in ('INDIVIDUAL', 'SELF', 'ON_BEHALF')),
  created_at timestamptz not null default now()
);

create table users (
  id uuid primary key,
  email text not null unique,
  display_name text,
  created_at timestamptz not null default now()
);

create table memberships (
  account_id uuid not null references customer_accounts (id),
  user_id uuid not null references users (id),
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  created_at timestamptz not null default now(),
  primary key (account_id, user_id)
);

-- The local account and user the CLI acts as until login exists.
insert into customer_accounts (id, name, tenancy_mode)
values ('00000000-0000-4000-8000-000000000001', 'Local account', 'INDIVIDUAL');
insert into users (id, email, display_name)
values ('00000000-0000-4000-8000-000000000002', 'local@vigilance.invalid', 'Local user');
insert into memberships (account_id, user_id, role)
values ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 'owner');

-- Uniqueness registry ----------------------------------------------------------------------------------------
-- A partitioned table's unique index must include the partition key, so ids that must be unique across all
-- partitions (assessment ids, report ids, token hashes) are registered here, in the same transaction.

create table global_keys (
  namespace text not null,
  key text not null,
  owner_id uuid,
  created_at timestamptz not null default now(),
  primary key (namespace, key)
);

-- Monthly partitions -------------------------------------------------------------------------------------------

-- Creates the monthly partition of `parent` holding `month` (any instant in it), named <parent>_yYYYYmMM.
-- Rows the default partition caught for that month are moved into the new partition, so maintenance that runs
-- late loses nothing. Returns true when a partition was created.
create function vigilance_ensure_month_partition(parent text, month timestamptz) returns boolean
language plpgsql as $$
declare
  lower_bound timestamptz := date_trunc('month', month at time zone 'UTC') at time zone 'UTC';
  upper_bound timestamptz := lower_bound + interval '1 month';
  partition_name text := format('%s_y%sm%s', parent, to_char(lower_bound at time zone 'UTC', 'YYYY'),
                                to_char(lower_bound at time zone 'UTC', 'MM'));
  key_column text;
  stray_count bigint;
begin
  if to_regclass(partition_name) is not null then
    return false;
  end if;
  select a.attname into key_column
    from pg_partitioned_table p
    join pg_attribute a on a.attrelid = p.partrelid and a.attnum = p.partattrs[0]
   where p.partrelid = parent::regclass;
  execute format('create table %I (like %I including defaults including constraints)', partition_name, parent);
  execute format('select count(*) from %I where %I >= $1 and %I < $2', parent || '_default', key_column, key_column)
     into stray_count using lower_bound, upper_bound;
  if stray_count > 0 then
    -- The audit log's default partition refuses deletes; the move happens under this statement's exclusive lock.
    if parent = 'audit_log' then
      execute 'alter table audit_log_default disable trigger audit_log_no_update_or_delete';
    end if;
    execute format('with moved as (delete from %I where %I >= $1 and %I < $2 returning *) insert into %I select * from moved',
                   parent || '_default', key_column, key_column, partition_name)
      using lower_bound, upper_bound;
    if parent = 'audit_log' then
      execute 'alter table audit_log_default enable trigger audit_log_no_update_or_delete';
    end if;
  end if;
  execute format('alter table %I attach partition %I for values from (%L) to (%L)',
                 parent, partition_name, lower_bound, upper_bound);
  if parent = 'audit_log' then
    execute format('create trigger audit_log_no_truncate before truncate on %I
                    for each statement execute function vigilance_audit_log_is_append_only()', partition_name);
  end if;
  return true;
end;
$$;

-- Assessments --------------------------------------------------------------------------------------------------

create table assessments (
  id uuid not null,
  created_at timestamptz not null,
  -- When the registries were asked; created_at is when the assessment was kept (they differ on re-evaluation).
  assessed_at timestamptz not null,
  account_id uuid not null references customer_accounts (id),
  actor_id uuid references users (id),
  subject_query text not null,
  siren text,
  siret text,
  vat text,
  verdict text not null check (verdict in ('GREEN', 'RED', 'GREY')),
  policy_version text not null,
  state text not null check (state in ('COMPLETE', 'AWAITING_SOURCES')),
  subject jsonb not null,
  signals jsonb not null,
  sources jsonb not null,
  idempotency_key text,
  correlation_id text,
  primary key (id, created_at)
) partition by range (created_at);

create table assessments_default partition of assessments default;
create index assessments_by_subject on assessments (account_id, siren, created_at desc);
create index assessments_signals on assessments using gin (signals jsonb_path_ops);

-- Bitemporal registry observations ---------------------------------------------------------------------------
-- valid_from/valid_to: when the fact was true in the world (business time); sys_from/sys_to: when we knew it
-- (system time). A correction closes the current system period (sys_to) and inserts the new version: rows are
-- never updated otherwise. Null upper bounds mean "until further notice".

create table source_observations (
  id uuid primary key,
  subject text not null,
  source text not null check (source in ('sirene', 'bodacc', 'vies')),
  fact_kind text not null,
  value jsonb not null,
  valid_from timestamptz not null,
  valid_to timestamptz,
  sys_from timestamptz not null,
  sys_to timestamptz,
  assessment_id uuid,
  check (valid_to is null or valid_to > valid_from),
  check (sys_to is null or sys_to >= sys_from),
  -- Two versions we currently believe must not overlap in business time for the same fact.
  constraint source_observations_no_overlap exclude using gist (
    subject with =,
    source with =,
    fact_kind with =,
    tstzrange(valid_from, coalesce(valid_to, 'infinity'::timestamptz)) with &&
  ) where (sys_to is null)
);

create index source_observations_as_of on source_observations (subject, source, fact_kind, sys_from);

-- Append-only audit log ----------------------------------------------------------------------------------------

create function vigilance_audit_log_is_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'audit_log is append-only: % refused', tg_op using errcode = '42501';
end;
$$;

create sequence audit_log_seq;

create table audit_log (
  seq bigint not null default nextval('audit_log_seq'),
  id uuid not null,
  occurred_at timestamptz not null,
  account_id uuid,
  actor_id uuid,
  ip text,
  user_agent text,
  correlation_id text,
  action text not null,
  entity_type text not null,
  entity_id text not null,
  before jsonb,
  after jsonb,
  prev_hash text not null,
  hash text not null,
  primary key (seq, occurred_at)
) partition by range (occurred_at);

create table audit_log_default partition of audit_log default;

create trigger audit_log_no_update_or_delete before update or delete on audit_log
  for each row execute function vigilance_audit_log_is_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function vigilance_audit_log_is_append_only();
create trigger audit_log_no_truncate before truncate on audit_log_default
  for each statement execute function vigilance_audit_log_is_append_only();

-- The chain's head: appenders lock this row, so entries are chained one after the other on every driver.
create table audit_chain_head (
  id boolean primary key default true check (id),
  seq bigint not null,
  hash text not null
);
insert into audit_chain_head (seq, hash) values (0, repeat('0', 64));

-- Idempotency --------------------------------------------------------------------------------------------------

create table idempotency_keys (
  account_id uuid not null references customer_accounts (id),
  key text not null,
  fingerprint text not null,
  state text not null check (state in ('IN_PROGRESS', 'COMPLETED')),
  response jsonb,
  resource_id text,
  created_at timestamptz not null,
  locked_until timestamptz not null,
  expires_at timestamptz not null,
  primary key (account_id, key)
);
create index idempotency_keys_expiry on idempotency_keys (expires_at);

-- Observations are never rewritten: the only change allowed is closing a current version's system period.
create function vigilance_observations_only_close() returns trigger
language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'source_observations keeps every version: DELETE refused' using errcode = '42501';
  end if;
  if old.sys_to is not null or new.sys_to is null
     or (to_jsonb(new) - 'sys_to') is distinct from (to_jsonb(old) - 'sys_to') then
    raise exception 'source_observations: only closing the system period of a current version is allowed'
      using errcode = '42501';
  end if;
  return new;
end;
$$;

create trigger source_observations_only_close before update or delete on source_observations
  for each row execute function vigilance_observations_only_close();
