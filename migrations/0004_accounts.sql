-- Accounts for the HTTP API: sign-in identities, agents and their client accounts, API clients, and the indexes the
-- API's lists page through.

-- An address is one user whatever its case: it is kept lower-cased, so the unique constraint compares it so.
alter table users add constraint users_email_lower_case check (email = lower(email));

-- Who proved a user's identity: an OpenID provider's issuer and its stable subject identifier, one user each.
create table user_identities (
  issuer text not null,
  subject text not null,
  user_id uuid not null references users (id),
  created_at timestamptz not null,
  primary key (issuer, subject)
);

-- The client accounts of an ON_BEHALF agent account (an accounting firm and the companies it acts for).
create table account_clients (
  agent_account_id uuid not null references customer_accounts (id),
  client_account_id uuid not null references customer_accounts (id),
  created_at timestamptz not null,
  primary key (agent_account_id, client_account_id),
  check (agent_account_id <> client_account_id)
);
create index account_clients_by_client on account_clients (client_account_id);

-- An ERP's registration in an account: it signs its token requests with the private half of `public_jwk`, whose
-- RFC 7638 thumbprint is `jkt`. A revoked client stays, so the audit log's references to it still resolve.
create table api_clients (
  id uuid primary key,
  account_id uuid not null references customer_accounts (id),
  name text not null,
  role text not null check (role in ('member', 'viewer')),
  public_jwk jsonb not null,
  jkt text not null,
  created_at timestamptz not null,
  created_by uuid,
  revoked_at timestamptz
);
create index api_clients_by_account on api_clients (account_id);

-- The ON_BEHALF agent account whose member made an assessment for a client account; null otherwise.
alter table assessments add column agent_account_id uuid;

-- An account's assessments and audit entries, newest first, paged by a cursor.
create index assessments_by_account_recent on assessments (account_id, created_at desc, id desc);
create index audit_log_by_account on audit_log (account_id, seq desc);

-- The actor of an assessment or a report is a user or an API client (a machine acting for its account): both are
-- recorded by id, as in the audit log, so the actor columns no longer point at users only.
alter table assessments drop constraint assessments_actor_id_fkey;
alter table reports drop constraint reports_actor_id_fkey;
