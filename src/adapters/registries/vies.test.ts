import { describe, expect, it } from 'vitest';
import type { VatNumber } from '#app/domain/identifiers/identifiers.ts';
import { parseVatNumber } from '#app/domain/identifiers/identifiers.ts';
import { unavailable } from '#app/application/ports/registry-call.ts';
import { recorded } from '../../../test/support/fixtures.ts';
import {
  closingAfterEach,
  startStubServer,
  type StubReply,
  type StubServer,
} from '../../../test/support/loopback-server.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import { createViesVatRegistry, VIES_BASE_URL } from './vies.ts';

const FR_DANONE: VatNumber = { country: 'FR', national: '27552032534' };
const FR_GANYMEDE: VatNumber = { country: 'FR', national: '09880878145' };
const FR_CEASED: VatNumber = { country: 'FR', national: '51883010316' };
const CZ_VALID: VatNumber = { country: 'CZ', national: '12345674' };
const CZ_INVALID: VatNumber = { country: 'CZ', national: '99999992' };
const CALL = { correlationId: 'corr-vies-1' };

const track = closingAfterEach();

const stub = async (reply: StubReply): Promise<StubServer> => {
  const server = await startStubServer(() => reply);
  track(server);
  return server;
};

const registryFor = (server: StubServer, clock = createManualClock(), timeoutMs = 2_000) =>
  createViesVatRegistry({ clock }, { baseUrl: server.baseUrl, timeoutMs, userAgent: 'vigilance-test/1.0' });

const urlOf = (server: StubServer, vat: VatNumber): string =>
  `${server.baseUrl}/ms/${vat.country}/vat/${vat.national}`;

const objectAt = (value: unknown, key: string): unknown => {
  if (typeof value !== 'object' || value === null || !(key in value)) throw new Error(`no ${key} in fixture`);
  return (value as Record<string, unknown>)[key];
};

describe('createViesVatRegistry', () => {
  it('points at the public VIES REST API by default', () => {
    expect(VIES_BASE_URL).toBe('https://ec.europa.eu/taxation_customs/vies/rest-api');
  });

  describe('recorded payloads', () => {
    it('reads a VALID GET answer as a valid number with its name and address', async () => {
      const server = await stub({ body: recorded('sample_vies_GET-ms-FR-vat_valid.json') });
      const answer = await registryFor(server).check(FR_GANYMEDE, CALL);
      expect(answer).toEqual({
        ok: true,
        value: {
          vat: FR_GANYMEDE,
          valid: true,
          name: 'SASU GANYMEDE',
          address: 'OCP BUSINESS CENTER 4\n128 RUE LA BOETIE\n75008 PARIS',
          requestDate: '2022-08-31T17:46:07.763Z',
          sourceUrl: urlOf(server, FR_GANYMEDE),
        },
      });
    });

    it('reads the real FR 09880878145 capture as valid', async () => {
      const server = await stub({
        body: recorded('vies_GET-ms-FR-vat-09880878145_valid_from-annuaire-comment-2022-08.json'),
      });
      const answer = await registryFor(server).check(FR_GANYMEDE, CALL);
      expect(answer.ok && answer.value.valid).toBe(true);
      expect(answer.ok && answer.value.name).toBe('SASU GANYMEDE');
    });

    it('reads an INVALID GET answer as a negative fact, "---" name and address as null', async () => {
      const server = await stub({ body: recorded('sample_vies_GET-ms-FR-vat_invalid.json') });
      const answer = await registryFor(server).check(FR_CEASED, CALL);
      expect(answer).toEqual({
        ok: true,
        value: {
          vat: FR_CEASED,
          valid: false,
          name: null,
          address: null,
          requestDate: '2026-06-15T09:12:03.518Z',
          sourceUrl: urlOf(server, FR_CEASED),
        },
      });
    });

    it('reads MS_UNAVAILABLE (HTTP 200, isValid false) as an outage, never as invalid', async () => {
      const server = await stub({ body: recorded('sample_vies_GET-ms-FR-vat_MS_UNAVAILABLE.json') });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('service_error', 'VIES userError MS_UNAVAILABLE'),
      });
    });

    it('reads the POST shape (valid, no userError) as a verdict', async () => {
      const server = await stub({ body: recorded('sample_vies_POST-check-vat-number_valid.json') });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer).toEqual({
        ok: true,
        value: {
          vat: FR_DANONE,
          valid: true,
          name: 'SA DANONE',
          address: '59 RUE LA FAYETTE\n75009 PARIS',
          requestDate: '2026-06-15T09:20:11.874Z',
          sourceUrl: urlOf(server, FR_DANONE),
        },
      });
    });

    it('reads the znojil POST captures: valid and invalid', async () => {
      const validServer = await stub({ body: recorded('vies_POST-check-vat-number_valid_znojil.json') });
      const valid = await registryFor(validServer).check(CZ_VALID, CALL);
      expect(valid.ok && valid.value.valid).toBe(true);
      expect(valid.ok && valid.value.address).toBe('Příkladná 1234/5\nPRAHA 1 - NOVÉ MĚSTO\n110 00  PRAHA 1');

      const invalidServer = await stub({ body: recorded('vies_POST-check-vat-number_invalid_znojil.json') });
      const invalid = await registryFor(invalidServer).check(CZ_INVALID, CALL);
      expect(invalid).toEqual({
        ok: true,
        value: {
          vat: CZ_INVALID,
          valid: false,
          name: null,
          address: null,
          requestDate: '2026-09-13T19:26:25.732Z',
          sourceUrl: urlOf(invalidServer, CZ_INVALID),
        },
      });
    });

    it.each(['MS_MAX_CONCURRENT_REQ', 'MS_UNAVAILABLE', 'INVALID_INPUT'])(
      'reads the POST error body %s (HTTP 200, errorWrappers) as an outage',
      async (code) => {
        const sample = objectAt(recorded('sample_vies_POST-check-vat-number_errors.json'), code);
        const server = await stub({
          status: Number(objectAt(sample, 'httpStatus')),
          body: objectAt(sample, 'body'),
        });
        const answer = await registryFor(server).check(FR_DANONE, CALL);
        expect(answer).toEqual({ ok: false, error: unavailable('service_error', `VIES userError ${code}`) });
      },
    );

    it('reads HTTP 500 with a VOW-ERR-1 body as an HTTP outage', async () => {
      const sample = objectAt(recorded('sample_vies_POST-check-vat-number_errors.json'), 'MALFORMED_REQUEST');
      const server = await stub({
        status: Number(objectAt(sample, 'httpStatus')),
        body: objectAt(sample, 'body'),
      });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('http_status', 'VIES answered HTTP 500', { status: 500 }),
      });
    });
  });

  describe('userError codes other than VALID and INVALID', () => {
    const errorCodes = [
      'MS_UNAVAILABLE',
      'SERVICE_UNAVAILABLE',
      'TIMEOUT',
      'MS_MAX_CONCURRENT_REQ',
      'MS_MAX_CONCURRENT_REQ_TIME',
      'GLOBAL_MAX_CONCURRENT_REQ',
      'GLOBAL_MAX_CONCURRENT_REQ_TIME',
      'SERVER_BUSY',
      'INVALID_INPUT',
      'IP_BLOCKED',
      'VAT_BLOCKED',
      'INVALID_REQUESTER_INFO',
      'SOME_FUTURE_CODE',
    ];

    it.each(errorCodes)('GET userError %s with isValid false is an outage', async (code) => {
      const server = await stub({
        body: {
          isValid: false,
          requestDate: '2026-06-15T09:14:41.002Z',
          userError: code,
          name: '---',
          address: '---',
        },
      });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer).toEqual({ ok: false, error: unavailable('service_error', `VIES userError ${code}`) });
    });

    it.each(errorCodes)('POST errorWrappers %s is an outage', async (code) => {
      const server = await stub({
        body: { actionSucceed: false, errorWrappers: [{ error: code, message: 'x' }] },
      });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer).toEqual({ ok: false, error: unavailable('service_error', `VIES userError ${code}`) });
    });

    it('does not echo a userError that is not a code', async () => {
      const server = await stub({
        body: { isValid: false, userError: 'Service down: see <b>status page</b>' },
      });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('service_error', 'VIES reported an error without a readable code'),
      });
    });

    it('reads actionSucceed false without any error wrapper as an outage', async () => {
      const server = await stub({ body: { actionSucceed: false } });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? null : answer.error.reason).toBe('service_error');
    });
  });

  describe('request', () => {
    it('sends GET /ms/{country}/vat/{national} with the User-Agent and the correlation id', async () => {
      const server = await stub({ body: recorded('sample_vies_GET-ms-FR-vat_valid.json') });
      await registryFor(server).check(FR_GANYMEDE, { correlationId: 'corr-42' });
      expect(server.requests).toHaveLength(1);
      const [sent] = server.requests;
      expect(sent?.method).toBe('GET');
      expect(sent?.url.pathname).toBe('/ms/FR/vat/09880878145');
      expect(sent?.url.search).toBe('');
      expect(sent?.headers['user-agent']).toBe('vigilance-test/1.0');
      expect(sent?.headers['x-correlation-id']).toBe('corr-42');
      expect(sent?.headers.accept).toBe('application/json');
    });

    it('asks for a Greek number under EL, even when it was typed with GR', async () => {
      const server = await stub({
        body: { isValid: true, userError: 'VALID', name: '---', address: '---', vatNumber: '123456789' },
      });
      const parsed = parseVatNumber('GR 123 456 789');
      if (!parsed.ok) throw new Error('GR123456789 should parse');
      const answer = await registryFor(server).check(parsed.value, CALL);
      expect(server.requests[0]?.url.pathname).toBe('/ms/EL/vat/123456789');
      expect(answer).toEqual({
        ok: true,
        value: {
          vat: { country: 'EL', national: '123456789' },
          valid: true,
          name: null,
          address: null,
          requestDate: null,
          sourceUrl: `${server.baseUrl}/ms/EL/vat/123456789`,
        },
      });
    });

    it('escapes the characters an Irish number may hold', async () => {
      const server = await stub({ body: { isValid: true, userError: 'VALID' } });
      await registryFor(server).check({ country: 'IE', national: '1+23456T' }, CALL);
      expect(server.requests[0]?.url.pathname).toBe('/ms/IE/vat/1%2B23456T');
    });
  });

  describe('body', () => {
    it('accepts an echoed vatNumber with its country prefix', async () => {
      const server = await stub({ body: { isValid: true, userError: 'VALID', vatNumber: 'FR27552032534' } });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok && answer.value.valid).toBe(true);
    });

    it('rejects a verdict about another VAT number', async () => {
      const server = await stub({ body: { isValid: true, userError: 'VALID', vatNumber: '09880878145' } });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? null : answer.error.reason).toBe('bad_payload');
    });

    it('rejects a POST verdict for another member state', async () => {
      const server = await stub({ body: { countryCode: 'DE', vatNumber: '27552032534', valid: true } });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? null : answer.error.reason).toBe('bad_payload');
    });

    it('trims name and address and treats empty ones as undisclosed', async () => {
      const server = await stub({
        body: {
          isValid: true,
          userError: 'VALID',
          name: '  SA DANONE ',
          address: '',
          requestDate: 'yesterday',
        },
      });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? [answer.value.name, answer.value.address, answer.value.requestDate] : null).toEqual([
        'SA DANONE',
        null,
        null,
      ]);
    });

    it.each<[string, unknown]>([
      ['isValid alone (a default, not a verdict)', { isValid: false }],
      ['an empty object', {}],
      ['an array', [{ isValid: true, userError: 'VALID' }]],
      ['a userError that is not a string', { isValid: true, userError: 1 }],
      ['isValid contradicting userError', { isValid: false, userError: 'VALID' }],
      ['a valid that is not a boolean', { valid: 'true' }],
    ])('reads %s as a bad payload', async (_label, body) => {
      const server = await stub({ body });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? null : answer.error.reason).toBe('bad_payload');
    });

    it('reads malformed JSON as a bad payload', async () => {
      const server = await stub({ body: '{"isValid": true, "userError": "VAL' });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('bad_payload', 'VIES answered a body that could not be read: not a JSON object'),
      });
    });

    it('reads an empty 200 as a bad payload', async () => {
      const server = await stub({ body: '' });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? null : answer.error.reason).toBe('bad_payload');
    });
  });

  describe('HTTP failures', () => {
    it('reads 429 with Retry-After in seconds as rate limited', async () => {
      const server = await stub({ status: 429, headers: { 'retry-after': '120' }, body: '' });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer).toEqual({
        ok: false,
        error: unavailable('rate_limited', 'VIES answered HTTP 429', { status: 429, retryAfterSeconds: 120 }),
      });
    });

    it('reads 429 with Retry-After as an HTTP date against the clock', async () => {
      const clock = createManualClock('2026-11-29T09:00:00.000Z');
      const server = await stub({ status: 429, headers: { 'retry-after': 'Sun, 29 Nov 2026 09:02:00 GMT' } });
      const first = await registryFor(server, clock).check(FR_DANONE, CALL);
      expect(first.ok ? null : first.error.retryAfterSeconds).toBe(120);

      clock.advance(90_000);
      const later = await registryFor(server, clock).check(FR_DANONE, CALL);
      expect(later.ok ? null : later.error.retryAfterSeconds).toBe(30);
    });

    it('reads 429 without Retry-After as rate limited with no delay', async () => {
      const server = await stub({ status: 429 });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? null : [answer.error.reason, answer.error.retryAfterSeconds]).toEqual([
        'rate_limited',
        null,
      ]);
    });

    it.each([502, 503, 504, 400, 404, 403])('reads HTTP %i as an HTTP outage', async (status) => {
      const server = await stub({ status, body: { isValid: true, userError: 'VALID' } });
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? null : [answer.error.reason, answer.error.status]).toEqual(['http_status', status]);
    });

    it('reads a reply slower than timeoutMs as a timeout', async () => {
      const server = await stub({ delayMs: 1_000, body: recorded('sample_vies_GET-ms-FR-vat_valid.json') });
      const answer = await registryFor(server, createManualClock(), 100).check(FR_GANYMEDE, CALL);
      expect(answer).toEqual({ ok: false, error: unavailable('timeout', 'no answer within 100 ms') });
    });

    it('reads a refused connection as a network outage', async () => {
      const server = await startStubServer(() => ({}));
      await server.close();
      const answer = await registryFor(server).check(FR_DANONE, CALL);
      expect(answer.ok ? null : answer.error.reason).toBe('network');
    });
  });
});
