/** Cookies: read from the `Cookie` header, written as `Set-Cookie` values. */

/** The cookies of a request, by name (the first of a repeated name wins, as browsers send the most specific first). */
export const parseCookies = (header: string | undefined): ReadonlyMap<string, string> => {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name === '' || cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(value));
    } catch {
      // A value that is not valid percent-encoding is not one of ours: ignored.
    }
  }
  return cookies;
};

export interface CookieOptions {
  readonly httpOnly: boolean;
  /** Seconds; 0 deletes the cookie. Absent: a session cookie. */
  readonly maxAge?: number;
  readonly sameSite: 'Lax' | 'Strict';
}

/**
 * A `Set-Cookie` value. Every cookie of the product is Secure with Path=/ and no Domain, which is what a
 * `__Host-` prefixed name requires (browsers treat http://localhost as secure, so this holds on a laptop too).
 */
export const serializeCookie = (name: string, value: string, options: CookieOptions): string =>
  [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/',
    'Secure',
    ...(options.httpOnly ? ['HttpOnly'] : []),
    `SameSite=${options.sameSite}`,
    ...(options.maxAge === undefined ? [] : [`Max-Age=${String(options.maxAge)}`]),
  ].join('; ');
