import { err, ok } from '#app/domain/result.ts';
import type { VatFacts } from '#app/domain/facts.ts';
import type { VatNumber } from '#app/domain/identifiers/identifiers.ts';
import type { Clock } from '#app/application/ports/clock.ts';
import { unavailable, type RegistryAnswer } from '#app/application/ports/registry-call.ts';
import type { VatRegistry } from '#app/application/ports/vat-registry.ts';
import { badPayload, request, statusUnavailable, type HttpClientOptions } from './http.ts';

/** The public VIES REST API of the European Commission (no authentication). */
export const VIES_BASE_URL = 'https://ec.europa.eu/taxation_customs/vies/rest-api';

const REGISTRY = 'VIES';

type JsonObject = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The parts of a VIES body that matter, whichever of its two shapes (GET or POST) it came in. */
type ViesReading =
  | { readonly kind: 'verdict'; readonly valid: boolean }
  | { readonly kind: 'error'; readonly code: string | null }
  | { readonly kind: 'unreadable'; readonly what: string };

/** VIES codes are SCREAMING_SNAKE words; anything else is not echoed, so no payload reaches a message. */
const safeCode = (value: unknown): string | null =>
  typeof value === 'string' && /^[A-Z][A-Z0-9_-]{0,63}$/.test(value) ? value : null;

/**
 * Reads the verdict or the error of a VIES body. The GET shape says `userError` (VALID, INVALID or an error
 * code) beside `isValid`; the POST shape says `valid`, or `actionSucceed: false` with `errorWrappers`.
 */
const readVerdict = (body: JsonObject): ViesReading => {
  if (body['actionSucceed'] === false || 'errorWrappers' in body) {
    const wrappers = body['errorWrappers'];
    const first: unknown = Array.isArray(wrappers) ? wrappers[0] : undefined;
    return { kind: 'error', code: isObject(first) ? safeCode(first['error']) : null };
  }
  if ('userError' in body) {
    const userError = body['userError'];
    if (typeof userError !== 'string') return { kind: 'unreadable', what: 'userError is not a string' };
    if (userError !== 'VALID' && userError !== 'INVALID') return { kind: 'error', code: safeCode(userError) };
    const valid = userError === 'VALID';
    // isValid is only a default beside an error, but beside a verdict it must agree, or the body is corrupt.
    if (typeof body['isValid'] === 'boolean' && body['isValid'] !== valid) {
      return { kind: 'unreadable', what: 'isValid contradicts userError' };
    }
    return { kind: 'verdict', valid };
  }
  // isValid alone is no verdict: VIES sets it to false on every error, so only the POST shape's valid counts.
  if (typeof body['valid'] === 'boolean') return { kind: 'verdict', valid: body['valid'] };
  return { kind: 'unreadable', what: 'neither a verdict nor an error' };
};

/** VIES writes "---" where a member state does not disclose a field (DE and ES never do). */
const disclosed = (value: unknown): string | null => {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' || trimmed === '---' ? null : trimmed;
};

/** VIES echoes the number it checked, with or without the country prefix. */
const normalisedNational = (value: string, country: string): string => {
  const compact = value.replace(/[\s.-]/g, '').toUpperCase();
  return compact.startsWith(country) && compact.length > country.length + 1
    ? compact.slice(country.length)
    : compact;
};

/** A verdict about another number than the one asked (a misrouted or cached answer) must not be kept. */
const answersAnotherNumber = (body: JsonObject, vat: VatNumber): boolean => {
  const country = body['countryCode'];
  if (typeof country === 'string' && country.toUpperCase() !== vat.country) return true;
  const number = body['vatNumber'];
  if (typeof number !== 'string' || number.trim() === '') return false;
  return normalisedNational(number, vat.country) !== normalisedNational(vat.national, vat.country);
};

const readRequestDate = (value: unknown): string | null =>
  typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : null;

/**
 * The VIES `VatRegistry`: `GET {baseUrl}/ms/{country}/vat/{national}`, with `country` the VIES code (EL for
 * Greece). Only VIES's VALID and INVALID verdicts (or the POST shape's `valid` with no error) become facts.
 * Returns `REGISTRY_UNAVAILABLE` with reason `service_error` for every other `userError` or `errorWrappers` code
 * (VIES then says `isValid: false`, a default and never a verdict), `rate_limited` for HTTP 429 (with
 * Retry-After), `http_status` for any other status than 200 (500 VOW-ERR-1 included), `bad_payload` for a body
 * it cannot read, and `timeout` or `network` from the transport.
 */
export const createViesVatRegistry = (
  deps: { readonly clock: Clock },
  options: HttpClientOptions,
): VatRegistry => ({
  check: async (vat, call): Promise<RegistryAnswer<VatFacts>> => {
    const url = `${options.baseUrl}/ms/${encodeURIComponent(vat.country)}/vat/${encodeURIComponent(vat.national)}`;
    const reply = await request(options, { url, correlationId: call.correlationId });
    if (!reply.ok) return reply;
    if (reply.value.status !== 200) {
      return err(statusUnavailable(REGISTRY, reply.value, deps.clock.now().getTime()));
    }
    const body = reply.value.json;
    if (!isObject(body)) return err(badPayload(REGISTRY, 'not a JSON object'));
    const reading = readVerdict(body);
    switch (reading.kind) {
      case 'error':
        return err(
          unavailable(
            'service_error',
            reading.code === null
              ? `${REGISTRY} reported an error without a readable code`
              : `${REGISTRY} userError ${reading.code}`,
          ),
        );
      case 'unreadable':
        return err(badPayload(REGISTRY, reading.what));
      case 'verdict':
        break;
    }
    if (answersAnotherNumber(body, vat)) {
      return err(badPayload(REGISTRY, 'the answer is about another VAT number'));
    }
    return ok(
      Object.freeze({
        vat,
        valid: reading.valid,
        name: disclosed(body['name']),
        address: disclosed(body['address']),
        requestDate: readRequestDate(body['requestDate']),
        sourceUrl: url,
      }),
    );
  },
});
