/** A JSON value, as stored in JSONB columns and hashed into the audit chain. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
