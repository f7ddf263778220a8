import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';

/**
 * What the public server answers when it does not answer with a report: RFC 9457 problem details
 * (`application/problem+json`) with a stable `code`. Codes are public API, listed in docs/errors.md.
 */
export type ProblemCode =
  | 'NOT_FOUND'
  | 'BAD_REQUEST'
  | 'PDF_INVALID'
  | 'PDF_TOO_LARGE'
  | 'MEDIA_TYPE_UNSUPPORTED'
  | 'RATE_LIMITED'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

export interface Problem {
  readonly type: 'about:blank';
  readonly title: string;
  readonly status: number;
  readonly code: ProblemCode;
  readonly detail?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Every problem, with fixed wording: a body never carries what the request sent, a stack or an internal code, so
 * the same problem is the same bytes every time (a 404 says nothing about why nothing was found).
 */
export const PROBLEMS: Readonly<Record<ProblemCode, Problem>> = {
  NOT_FOUND: { type: 'about:blank', title: 'Not Found', status: 404, code: 'NOT_FOUND' },
  BAD_REQUEST: { type: 'about:blank', title: 'Bad Request', status: 400, code: 'BAD_REQUEST' },
  PDF_INVALID: {
    type: 'about:blank',
    title: 'Bad Request',
    status: 400,
    code: 'PDF_INVALID',
    detail: 'The body is not a PDF file: it must start with %PDF-.',
  },
  PDF_TOO_LARGE: {
    type: 'about:blank',
    title: 'Content Too Large',
    status: 413,
    code: 'PDF_TOO_LARGE',
    detail: 'The file is larger than this server accepts for a check.',
  },
  MEDIA_TYPE_UNSUPPORTED: {
    type: 'about:blank',
    title: 'Unsupported Media Type',
    status: 415,
    code: 'MEDIA_TYPE_UNSUPPORTED',
    detail: 'Send the PDF itself as the body, with Content-Type: application/pdf.',
  },
  RATE_LIMITED: {
    type: 'about:blank',
    title: 'Too Many Requests',
    status: 429,
    code: 'RATE_LIMITED',
    detail: 'Too many requests from this address; retry after the number of seconds in Retry-After.',
  },
  REQUEST_TIMEOUT: { type: 'about:blank', title: 'Request Timeout', status: 408, code: 'REQUEST_TIMEOUT' },
  HEADERS_TOO_LARGE: {
    type: 'about:blank',
    title: 'Request Header Fields Too Large',
    status: 431,
    code: 'HEADERS_TOO_LARGE',
  },
  SERVICE_UNAVAILABLE: {
    type: 'about:blank',
    title: 'Service Unavailable',
    status: 503,
    code: 'SERVICE_UNAVAILABLE',
    detail: 'The verification service cannot answer right now; retry later.',
  },
  INTERNAL: { type: 'about:blank', title: 'Internal Server Error', status: 500, code: 'INTERNAL' },
};

/** The serialized bodies, made once: what is sent is always exactly these bytes. */
export const PROBLEM_BODIES: Readonly<Record<ProblemCode, string>> = Object.fromEntries(
  Object.values(PROBLEMS).map((p) => [p.code, JSON.stringify(p)]),
) as Record<ProblemCode, string>;

const CODE = Symbol('problem code');

/** An error that carries the problem to answer with (thrown from hooks, such as the rate limit's). */
export type ProblemError = Error & { readonly [CODE]: ProblemCode; readonly statusCode: number };

export const problemError = (code: ProblemCode): ProblemError =>
  Object.assign(new Error(PROBLEMS[code].title), { [CODE]: code, statusCode: PROBLEMS[code].status });

const fieldOf = (error: unknown, name: 'code' | 'statusCode'): unknown =>
  typeof error === 'object' && error !== null && name in error
    ? (error as Record<typeof name, unknown>)[name]
    : undefined;

/**
 * The problem an error is answered with. The framework's own request errors (an unsupported media type, a body
 * over the limit, a malformed request) keep their meaning; an infrastructure fault (the database or the signer
 * unreachable) is a 503; anything else is a bug, answered 500 and nothing more.
 */
export const problemOf = (error: unknown): ProblemCode => {
  if (error instanceof Error && CODE in error) return (error as ProblemError)[CODE];
  if (error instanceof InfrastructureError) return 'SERVICE_UNAVAILABLE';
  switch (fieldOf(error, 'code')) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'MEDIA_TYPE_UNSUPPORTED';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'PDF_TOO_LARGE';
    default:
      break;
  }
  const status = fieldOf(error, 'statusCode');
  if (typeof status !== 'number' || status < 400 || status >= 500) return 'INTERNAL';
  switch (status) {
    case 404:
      return 'NOT_FOUND';
    case 408:
      return 'REQUEST_TIMEOUT';
    case 413:
      return 'PDF_TOO_LARGE';
    case 415:
      return 'MEDIA_TYPE_UNSUPPORTED';
    case 429:
      return 'RATE_LIMITED';
    case 431:
      return 'HEADERS_TOO_LARGE';
    default:
      return 'BAD_REQUEST';
  }
};
