import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Result } from '../result.ts';
import {
  formatVat,
  frenchVatFromSiren,
  frenchVatKey,
  luhnValid,
  parseSiren,
  parseSiret,
  parseSupplierId,
  parseVatNumber,
  sirenOfVat,
  type IdentifierErrorCode,
  type Siren,
} from './identifiers.ts';
import { VAT_FORMATS } from './vat-formats.ts';

const valueOf = <T, E>(result: Result<T, E>): T => {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.value;
};

const codeOf = <T, E extends { readonly code: string }>(result: Result<T, E>): string | null =>
  result.ok ? null : result.error.code;

const siren = (digits: string): Siren => valueOf(parseSiren(digits));

/** An independent Luhn key: the digit that makes `payload + key` pass, doubling from the payload's right end. */
const luhnKey = (payload: string): string => {
  let sum = 0;
  payload
    .split('')
    .reverse()
    .forEach((char, i) => {
      const d = Number(char) * (i % 2 === 0 ? 2 : 1);
      sum += d > 9 ? d - 9 : d;
    });
  return String((10 - (sum % 10)) % 10);
};

const digits = (length: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length, maxLength: length }).map((ds) => ds.join(''));

const validSiren = digits(8).map((payload) => `${payload}${luhnKey(payload)}`);

/** Every example of the reference pack's eu-vat-formats.json, by VIES code. */
const EU_VAT_EXAMPLES: readonly (readonly [string, readonly string[]])[] = [
  ['AT', ['U12345678']],
  ['BE', ['0123456789', '1000003682']],
  ['BG', ['123456789', '1234567890']],
  ['CY', ['12345678X']],
  ['CZ', ['12345678', '1234567890']],
  ['DE', ['123456789']],
  ['DK', ['12345678']],
  ['EE', ['123456789']],
  ['EL', ['123456789']],
  ['ES', ['A12345678', 'B1234567C', '12345678Z']],
  ['FI', ['12345678']],
  ['FR', ['27552032534', 'K7399859412']],
  ['HR', ['12345678901']],
  ['HU', ['12345678']],
  ['IE', ['1234567T', '1234567TW', '1X23456T']],
  ['IT', ['12345678901']],
  ['LT', ['123456789', '123456789012']],
  ['LU', ['12345678']],
  ['LV', ['12345678901']],
  ['MT', ['12345678']],
  ['NL', ['123456789B01']],
  ['PL', ['1234567890']],
  ['PT', ['123456789']],
  ['RO', ['12', '1234567890']],
  ['SE', ['123456789001']],
  ['SI', ['12345678']],
  ['SK', ['1234567890']],
  ['XI', ['123456789', '123456789012', 'GD123', 'HA123']],
];

/** The SIREN -> key vectors of 04-identifiers-siren-siret-vat.md, all confirmed valid by VIES. */
const FRENCH_VAT_KEYS = [
  ['552032534', '27'],
  ['356000000', '39'],
  ['487444697', '30'],
  ['842019051', '43'],
  ['217500016', '72'],
  ['880878145', '09'],
  ['552081317', '03'],
] as const;

describe('parseSiren', () => {
  it.each(FRENCH_VAT_KEYS.map(([s]) => s))('accepts the Luhn-valid SIREN %s', (input) => {
    expect(parseSiren(input)).toEqual({ ok: true, value: input });
  });

  it('rejects a SIREN whose Luhn digit is wrong', () => {
    expect(codeOf(parseSiren('552032535'))).toBe('IDENTIFIER_BAD_CHECKSUM');
  });

  it.each([
    ['', 'IDENTIFIER_EMPTY'],
    [' . - ', 'IDENTIFIER_EMPTY'],
    ['55203253', 'IDENTIFIER_UNRECOGNISED'],
    ['5520325341', 'IDENTIFIER_UNRECOGNISED'],
    ['55203253A', 'IDENTIFIER_UNRECOGNISED'],
  ])('rejects %j with %s', (input, code) => {
    expect(codeOf(parseSiren(input))).toBe(code);
  });

  it('accepts the separators people type', () => {
    expect(parseSiren('552 032 534')).toEqual({ ok: true, value: '552032534' });
    expect(parseSiren('552.032.534')).toEqual({ ok: true, value: '552032534' });
    expect(parseSiren('552-032-534')).toEqual({ ok: true, value: '552032534' });
    expect(parseSiren('552\u00a0032\u202f534')).toEqual({ ok: true, value: '552032534' });
  });

  it('accepts any 8 digits followed by their Luhn digit', () => {
    fc.assert(
      fc.property(validSiren, (input) => {
        expect(parseSiren(input)).toEqual({ ok: true, value: input });
      }),
    );
  });

  it('rejects a valid SIREN with any single digit changed', () => {
    fc.assert(
      fc.property(validSiren, fc.nat(8), fc.integer({ min: 1, max: 9 }), (input, position, shift) => {
        const changed = (Number(input[position]) + shift) % 10;
        const mistyped = `${input.slice(0, position)}${changed}${input.slice(position + 1)}`;
        expect(codeOf(parseSiren(mistyped))).toBe('IDENTIFIER_BAD_CHECKSUM');
      }),
    );
  });
});

describe('luhnValid', () => {
  it('doubles every second digit from the right', () => {
    expect(luhnValid('552032534')).toBe(true);
    expect(luhnValid('73282932000074')).toBe(true);
    expect(luhnValid('73282932000075')).toBe(false);
  });
});

describe('parseSiret', () => {
  it('accepts a Luhn-valid SIRET', () => {
    expect(parseSiret('732 829 320 00074')).toEqual({ ok: true, value: '73282932000074' });
  });

  it('rejects a SIRET whose own Luhn digit is wrong', () => {
    expect(codeOf(parseSiret('73282932000075'))).toBe('IDENTIFIER_BAD_CHECKSUM');
  });

  it('rejects a SIRET whose SIREN fails Luhn', () => {
    expect(codeOf(parseSiret('55203253500017'))).toBe('IDENTIFIER_BAD_CHECKSUM');
  });

  it("accepts La Poste's head office 35600000000048, which keeps the Luhn key", () => {
    expect(parseSiret('35600000000048')).toEqual({ ok: true, value: '35600000000048' });
  });

  it('accepts a La Poste establishment whose digit sum is a multiple of 5, though it fails Luhn', () => {
    expect(luhnValid('35600000049837')).toBe(false);
    expect(parseSiret('35600000049837')).toEqual({ ok: true, value: '35600000049837' });
  });

  it('rejects a La Poste establishment whose digit sum is not a multiple of 5, even when Luhn-valid', () => {
    expect(codeOf(parseSiret('35600000049838'))).toBe('IDENTIFIER_BAD_CHECKSUM');
    // Luhn-valid but digit sum 19: only the head office is exempt from the La Poste rule.
    expect(luhnValid('35600000000014')).toBe(true);
    expect(codeOf(parseSiret('35600000000014'))).toBe('IDENTIFIER_BAD_CHECKSUM');
  });

  it('applies the La Poste rule to every NIC of SIREN 356000000', () => {
    fc.assert(
      fc.property(digits(5), (nic) => {
        const input = `356000000${nic}`;
        const sum = input.split('').reduce((total, d) => total + Number(d), 0);
        expect(parseSiret(input).ok).toBe(input === '35600000000048' || sum % 5 === 0);
      }),
      { examples: [['00048'], ['49837'], ['00014']] },
    );
  });

  it.each([
    ['', 'IDENTIFIER_EMPTY'],
    ['7328293200007', 'IDENTIFIER_UNRECOGNISED'],
    ['7328293200007A', 'IDENTIFIER_UNRECOGNISED'],
  ])('rejects %j with %s', (input, code) => {
    expect(codeOf(parseSiret(input))).toBe(code);
  });
});

describe('French VAT key', () => {
  it.each(FRENCH_VAT_KEYS)('SIREN %s has key %s', (input, key) => {
    expect(frenchVatKey(siren(input))).toBe(key);
    expect(formatVat(frenchVatFromSiren(siren(input)))).toBe(`FR${key}${input}`);
    expect(parseVatNumber(`FR${key}${input}`)).toEqual({
      ok: true,
      value: { country: 'FR', national: `${key}${input}` },
    });
  });

  it.each(FRENCH_VAT_KEYS)('rejects SIREN %s under any other numeric key', (input, key) => {
    const wrong = String((Number(key) + 1) % 100).padStart(2, '0');
    expect(codeOf(parseVatNumber(`FR${wrong}${input}`))).toBe('VAT_KEY_MISMATCH');
  });

  it('keeps the leading zero of a one-digit key', () => {
    expect(frenchVatKey(siren('880878145'))).toBe('09');
  });

  it('a number derived from any SIREN parses back to itself and its SIREN', () => {
    fc.assert(
      fc.property(validSiren, (input) => {
        const vat = frenchVatFromSiren(siren(input));
        const parsed = valueOf(parseVatNumber(formatVat(vat)));
        expect(parsed).toEqual(vat);
        expect(sirenOfVat(parsed)).toBe(input);
      }),
    );
  });
});

describe('parseVatNumber', () => {
  it('the examples cover every member state known to VIES', () => {
    expect(EU_VAT_EXAMPLES.map(([country]) => country).sort()).toEqual(Object.keys(VAT_FORMATS).sort());
  });

  it.each(EU_VAT_EXAMPLES.flatMap(([country, nationals]) => nationals.map((n) => [country, n] as const)))(
    'accepts the %s example %s with its prefix',
    (country, national) => {
      expect(parseVatNumber(`${country}${national}`)).toEqual({ ok: true, value: { country, national } });
    },
  );

  it('accepts GR for Greece and turns it into VIES code EL', () => {
    expect(parseVatNumber('GR123456789')).toEqual({
      ok: true,
      value: { country: 'EL', national: '123456789' },
    });
    expect(parseVatNumber('gr 123-456-789')).toEqual({
      ok: true,
      value: { country: 'EL', national: '123456789' },
    });
  });

  it('accepts a French alphanumeric ("new style") key without checking it against the SIREN', () => {
    expect(parseVatNumber('FRK7399859412')).toEqual({
      ok: true,
      value: { country: 'FR', national: 'K7399859412' },
    });
  });

  it('rejects the letters I and O in a French key', () => {
    expect(codeOf(parseVatNumber('FRI7399859412'))).toBe('VAT_BAD_FORMAT');
    expect(codeOf(parseVatNumber('FRO7399859412'))).toBe('VAT_BAD_FORMAT');
  });

  it('rejects a French number whose SIREN fails Luhn, whatever its key', () => {
    expect(codeOf(parseVatNumber('FR27552032535'))).toBe('IDENTIFIER_BAD_CHECKSUM');
    expect(codeOf(parseVatNumber('FRK7552032535'))).toBe('IDENTIFIER_BAD_CHECKSUM');
  });

  it.each(['GB123456789', 'XX123456789', 'EU123456789', '12345678901', 'F1234567890'])(
    'rejects %s as an unknown country',
    (input) => {
      expect(codeOf(parseVatNumber(input))).toBe('VAT_UNKNOWN_COUNTRY');
    },
  );

  it.each([
    'ATX12345678',
    'AT12345678',
    'BE2123456789',
    'BE123456789',
    'DE12345678',
    'DE1234567890',
    'ES123456789',
    'FR2755203253',
    'FR',
    'EL12345678A',
    'NL123456789A01',
    'RO1',
    'XIAB123',
  ])('rejects %s as a bad format', (input) => {
    expect(codeOf(parseVatNumber(input))).toBe('VAT_BAD_FORMAT');
  });

  it.each(['FR 27 552 032 534', 'fr27552032534', 'FR27.552.032.534', 'Fr-27-552-032-534', ' FR27552032534 '])(
    'accepts the separators and lower case of %j',
    (input) => {
      expect(parseVatNumber(input)).toEqual({ ok: true, value: { country: 'FR', national: '27552032534' } });
    },
  );

  it('rejects empty input', () => {
    expect(codeOf(parseVatNumber(''))).toBe('IDENTIFIER_EMPTY');
    expect(codeOf(parseVatNumber('  ..  '))).toBe('IDENTIFIER_EMPTY');
  });
});

describe('parseSupplierId', () => {
  it('reads 9 digits as a SIREN', () => {
    expect(parseSupplierId('552 032 534')).toEqual({
      ok: true,
      value: { kind: 'siren', siren: '552032534' },
    });
  });

  it('reads 14 digits as a SIRET and its SIREN', () => {
    expect(parseSupplierId('356 000 000 00048')).toEqual({
      ok: true,
      value: { kind: 'siret', siren: '356000000', siret: '35600000000048' },
    });
  });

  it('reads two letters first as a VAT number, with the SIREN of a French one', () => {
    expect(parseSupplierId('fr 27 552032534')).toEqual({
      ok: true,
      value: { kind: 'vat', vat: { country: 'FR', national: '27552032534' }, siren: '552032534' },
    });
    expect(parseSupplierId('DE123456789')).toEqual({
      ok: true,
      value: { kind: 'vat', vat: { country: 'DE', national: '123456789' }, siren: null },
    });
  });

  it.each<[string, IdentifierErrorCode]>([
    ['', 'IDENTIFIER_EMPTY'],
    ['   ', 'IDENTIFIER_EMPTY'],
    ['552032535', 'IDENTIFIER_BAD_CHECKSUM'],
    ['73282932000075', 'IDENTIFIER_BAD_CHECKSUM'],
    ['35600000049838', 'IDENTIFIER_BAD_CHECKSUM'],
    ['FR28552032534', 'VAT_KEY_MISMATCH'],
    ['GB123456789', 'VAT_UNKNOWN_COUNTRY'],
    ['XX123456789', 'VAT_UNKNOWN_COUNTRY'],
    ['DE12345', 'VAT_BAD_FORMAT'],
    ['1234567890', 'IDENTIFIER_UNRECOGNISED'],
    ['12345', 'IDENTIFIER_UNRECOGNISED'],
    ['hello world', 'VAT_UNKNOWN_COUNTRY'],
    ['#552032534', 'IDENTIFIER_UNRECOGNISED'],
    ['5X2032534', 'IDENTIFIER_UNRECOGNISED'],
  ])('rejects %j with %s', (input, code) => {
    expect(codeOf(parseSupplierId(input))).toBe(code);
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (input) => {
        const result = parseSupplierId(input);
        expect(typeof result.ok).toBe('boolean');
      }),
    );
  });

  const validIdentifier = fc.oneof(
    validSiren,
    validSiren.chain((s) => digits(4).map((nic) => `${s}${nic}${luhnKey(`${s}${nic}`)}`)),
    validSiren.map((s) => formatVat(frenchVatFromSiren(siren(s)))),
    fc.constantFrom(
      ...EU_VAT_EXAMPLES.flatMap(([country, nationals]) => nationals.map((n) => `${country}${n}`)),
    ),
    fc.constantFrom('35600000049837', '35600000000048', 'GR123456789', 'FRK7399859412'),
  );

  /** The same identifier as a person might type it: separators anywhere, any letter case. */
  const typedAs = (input: string): fc.Arbitrary<string> =>
    fc
      .tuple(
        fc.array(fc.constantFrom('', '', ' ', '.', '-', '\u00a0', '  '), {
          minLength: input.length + 1,
          maxLength: input.length + 1,
        }),
        fc.boolean(),
      )
      .map(([separators, lower]) => {
        const typed =
          input
            .split('')
            .map((char, i) => `${separators[i] ?? ''}${char}`)
            .join('') + (separators.at(-1) ?? '');
        return lower ? typed.toLowerCase() : typed;
      });

  it('gives the same result however the identifier is spaced, dotted, dashed or cased', () => {
    fc.assert(
      fc.property(
        validIdentifier.chain((input) => fc.tuple(fc.constant(input), typedAs(input))),
        ([input, typed]) => {
          const expected = parseSupplierId(input);
          expect(expected.ok).toBe(true);
          expect(parseSupplierId(typed)).toEqual(expected);
        },
      ),
    );
  });

  it('gives the same result for malformed input however it is spaced', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9A-Z]{1,16}$/).chain((input) => fc.tuple(fc.constant(input), typedAs(input))),
        ([input, typed]) => {
          expect(codeOf(parseSupplierId(typed))).toBe(codeOf(parseSupplierId(input)));
        },
      ),
    );
  });
});
