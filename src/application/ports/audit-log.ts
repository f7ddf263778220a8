import type { JsonValue } from './json.ts';

/** One audited action: who, from where, under which correlation id, on what, and the state before and after. */
export interface AuditEntry {
  readonly occurredAt: string;
  readonly accountId: string | null;
  readonly actorId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly correlationId: string | null;
  /** A stable dotted name, e.g. "assessment.created". */
  readonly action: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly before: JsonValue;
  readonly after: JsonValue;
}

export interface AppendedEntry {
  readonly seq: number;
  readonly hash: string;
}

export type AuditVerification =
  | { readonly ok: true; readonly entries: number; readonly headHash: string }
  | {
      readonly ok: false;
      readonly entries: number;
      /** The first entry whose hash or link does not hold, or null when the chain's head does not match. */
      readonly firstBroken: { readonly seq: number; readonly id: string } | null;
      readonly reason: 'hash_mismatch' | 'broken_link' | 'head_mismatch';
    };

/**
 * The append-only audit log, hash-chained: each entry's hash covers its content and the previous entry's hash, so
 * any change, insertion or removal shows. The database refuses UPDATE, DELETE and TRUNCATE. Appends are
 * serialised (the chain has one head) and happen in the caller's transaction.
 */
/** What an account's administrators may search the log by. Newest first; `beforeSeq` pages on. */
export interface AuditQuery {
  readonly accountId: string;
  readonly action?: string;
  readonly entityType?: string;
  readonly entityId?: string;
  readonly actorId?: string;
  /** occurred_at >= from, < to (ISO instants). */
  readonly from?: string;
  readonly to?: string;
  /** Entries with a smaller seq than this (the last seq of the previous page). */
  readonly beforeSeq?: number;
  /** 1 to 200. */
  readonly limit: number;
}

export interface StoredAuditEntry extends AuditEntry {
  readonly seq: number;
  readonly id: string;
  readonly hash: string;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<AppendedEntry>;
  /** An account's entries (account_id = query.accountId only), newest first. */
  query(query: AuditQuery): Promise<readonly StoredAuditEntry[]>;
  /** Walks the whole chain in order and names the first broken entry. */
  verify(): Promise<AuditVerification>;
}
