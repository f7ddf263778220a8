import type { JsonValue } from './json.ts';

/** A browser session: who is logged in, their current account, and server-side login state. */
export interface SessionData {
  /** Null before login (a session that only carries a login in progress). */
  readonly userId: string | null;
  /** The account the person is working in; null before login. */
  readonly accountId: string | null;
  /** The secret the CSRF token is derived from (base64url). */
  readonly csrfSecret: string;
  readonly createdAt: string;
  /** When its time to live was last extended (absent: never since it was made). */
  readonly renewedAt?: string;
  /** A login in progress: what the callback needs (PKCE verifier, state, nonce...), opaque to the store. */
  readonly pendingLogin: JsonValue;
  /** What the provider gave at login (kept on the server: the browser never sees a token). */
  readonly provider: { readonly id: string; readonly tokens: JsonValue } | null;
}

/**
 * Sessions by id, each with a time to live. The store keys sessions by a hash of the id, so whoever reads the
 * store cannot use what they read as a cookie. Redis (shared by every instance) in production, memory in the
 * embedded default. Faults are thrown as InfrastructureError SESSION_STORE_UNAVAILABLE.
 */
export interface SessionStore {
  get(id: string): Promise<SessionData | null>;
  /** Creates or replaces; the session expires `ttlMs` from now. */
  set(id: string, data: SessionData, ttlMs: number): Promise<void>;
  delete(id: string): Promise<void>;
}
