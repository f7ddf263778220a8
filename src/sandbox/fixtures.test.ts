import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  frenchVatKey,
  luhnValid,
  parseSiren,
  parseSiret,
  parseVatNumber,
  type Siren,
} from '#app/domain/identifiers/identifiers.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox, type Sandbox } from './server.ts';

const files = new Map<string, unknown>();
let readme = '';

beforeAll(async () => {
  const names = (await readdir(BUILT_IN_FIXTURES_DIR, { recursive: true }))
    .filter((n) => n.endsWith('.json'))
    .sort();
  for (const name of names) {
    const text = await readFile(join(BUILT_IN_FIXTURES_DIR, name), 'utf8');
    files.set(name.split('\\').join('/'), JSON.parse(text) as unknown);
  }
  readme = await readFile(join(BUILT_IN_FIXTURES_DIR, 'README.md'), 'utf8');
});

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const at = (value: unknown, ...path: readonly (string | number)[]): unknown => {
  let current = value;
  for (const key of path) {
    if (typeof key === 'number') current = Array.isArray(current) ? (current[key] as unknown) : undefined;
    else current = isRecord(current) ? current[key] : undefined;
  }
  return current;
};

/** Every (key, string value) in a body, JSON-in-string fields (BODACC) opened too. */
const strings = (value: unknown, key = ''): [string, string][] => {
  if (typeof value === 'string') {
    if (value.startsWith('{')) {
      try {
        return [[key, value], ...strings(JSON.parse(value) as unknown, key)];
      } catch {
        return [[key, value]];
      }
    }
    return [[key, value]];
  }
  if (Array.isArray(value)) return value.flatMap((item) => strings(item, key));
  if (isRecord(value)) return Object.entries(value).flatMap(([k, v]) => strings(v, k));
  return [];
};

const stem = (name: string): string => name.slice(name.lastIndexOf('/') + 1, -'.json'.length);
const under = (folder: string): [string, unknown][] =>
  [...files].filter(([name]) => name.startsWith(`${folder}/`));

describe('built-in fixtures', () => {
  it('are found through BUILT_IN_FIXTURES_DIR, a filesystem path', () => {
    expect(isAbsolute(BUILT_IN_FIXTURES_DIR)).toBe(true);
    expect(existsSync(join(BUILT_IN_FIXTURES_DIR, 'README.md'))).toBe(true);
    expect(files.size).toBeGreaterThan(40);
  });

  it('parse as JSON, with no _comment key from the samples', () => {
    for (const [name, value] of files) {
      expect(value, name).not.toBeNull();
      expect(JSON.stringify(value), name).not.toContain('"_comment"');
    }
  });

  it('hold only Luhn-valid SIRENs, valid SIRETs and French VAT numbers with the right key', () => {
    const problems: string[] = [];
    for (const [name, value] of files) {
      for (const [key, text] of strings(value)) {
        const compact = text.replace(/ /g, '');
        if (
          (key === 'siren' || key === 'registre' || key === 'numeroIdentification') &&
          /^\d{9}$/.test(compact)
        ) {
          if (!parseSiren(compact).ok) problems.push(`${name}: SIREN ${text}`);
        }
        if (key === 'siret' && !parseSiret(text).ok) problems.push(`${name}: SIRET ${text}`);
        for (const vat of text.match(/\bFR[0-9A-Z]{2}\d{9}\b/g) ?? []) {
          if (!parseVatNumber(vat).ok) problems.push(`${name}: VAT ${vat}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('name their files after valid identifiers', () => {
    for (const [name] of files) {
      const id = stem(name);
      if (name.startsWith('insee/siren/') || name.startsWith('bodacc/'))
        expect(parseSiren(id).ok, name).toBe(true);
      else if (name.startsWith('insee/siret/')) expect(parseSiret(id).ok, name).toBe(true);
      else if (name.startsWith('vies/')) expect(parseVatNumber(id).ok, name).toBe(true);
      else if (name.startsWith('recherche/')) expect(parseSiren(id).ok || parseSiret(id).ok, name).toBe(true);
      else throw new Error(`unexpected fixture ${name}`);
    }
  });

  it('answer for the identifier they are named after', () => {
    for (const [name, value] of under('insee/siren')) {
      expect(at(value, 'uniteLegale', 'siren'), name).toBe(stem(name));
      expect(at(value, 'header', 'statut'), name).toBe(200);
      const { siren, nic } = {
        siren: stem(name),
        nic: at(value, 'uniteLegale', 'periodesUniteLegale', 0, 'nicSiegeUniteLegale'),
      };
      expect(parseSiret(`${siren}${String(nic)}`).ok, `${name} head office`).toBe(true);
    }
    for (const [name, value] of under('insee/siret')) {
      expect(at(value, 'etablissement', 'siret'), name).toBe(stem(name));
    }
    for (const [name, value] of under('recherche')) {
      const id = stem(name);
      expect(at(value, 'results', 0, 'siren'), name).toBe(id.slice(0, 9));
      expect(at(value, 'total_results'), name).toBe(1);
      const matching = at(value, 'results', 0, 'matching_etablissements') as unknown[];
      if (id.length === 14)
        expect(
          matching.map((e) => at(e, 'siret')),
          name,
        ).toEqual([id]);
      else expect(matching, name).toEqual([]);
    }
    for (const [name, value] of under('bodacc')) {
      const results = at(value, 'results') as unknown[];
      expect(at(value, 'total_count'), name).toBe(results.length);
      for (const record of results) expect(at(record, 'registre'), name).toContain(stem(name));
    }
    for (const [name, value] of under('vies')) {
      expect(`${name.slice('vies/'.length, 'vies/'.length + 2)}${String(at(value, 'vatNumber'))}`, name).toBe(
        stem(name),
      );
      expect(['VALID', 'INVALID', 'MS_UNAVAILABLE'], name).toContain(at(value, 'userError'));
    }
  });

  it('give every French company both SIRENE bodies and its VIES answer', () => {
    const inseeSirens = under('insee/siren').map(([name]) => stem(name));
    const rechercheSirens = under('recherche')
      .map(([name]) => stem(name))
      .filter((id) => id.length === 9);
    expect(inseeSirens).toEqual(rechercheSirens);
    for (const siren of inseeSirens) {
      expect(files.has(`vies/FR${frenchVatKey(siren as Siren)}${siren}.json`), siren).toBe(true);
    }
    for (const [name] of under('bodacc')) expect(inseeSirens).toContain(stem(name));
    for (const [name] of [...under('recherche'), ...under('insee/siret')].filter(
      ([n]) => stem(n).length === 14,
    )) {
      expect(inseeSirens).toContain(stem(name).slice(0, 9));
    }
  });

  it('are all listed in the README, whose SIRENs are Luhn-valid too', () => {
    for (const [name] of files) expect(readme, name).toContain(stem(name));
    const sirens = [...readme.matchAll(/SIREN `(\d{9})`/g)].map((m) => m[1] ?? '');
    expect(sirens.length).toBeGreaterThanOrEqual(15);
    for (const siren of sirens) expect(luhnValid(siren), siren).toBe(true);
  });

  it('keep the unknown SIREN of the README out of every registry', () => {
    const unknown = /SIREN `(\d{9})` \(Luhn-valid, no file anywhere\)/.exec(readme)?.[1];
    expect(unknown).toBeDefined();
    for (const [name] of files) expect(name).not.toContain(unknown);
  });
});

describe('the sandbox on the built-in fixtures', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ dir: BUILT_IN_FIXTURES_DIR });
  });
  afterAll(async () => {
    await sandbox.close();
  });
  const getJson = async (url: string, headers: Record<string, string> = {}) => {
    const response = await fetch(url, { headers });
    return { status: response.status, body: await response.json() };
  };
  const key = { 'X-INSEE-Api-Key-Integration': 'k' };
  const bodacc = (siren: string) =>
    `${sandbox.urls.bodacc}/api/explore/v2.1/catalog/datasets/annonces-commerciales/records?where=${encodeURIComponent(`registre="${siren}"`)}&order_by=${encodeURIComponent('dateparution desc')}&limit=100&offset=0`;

  it('tells the same DANONE story in all four registries', async () => {
    const recherche = await getJson(`${sandbox.urls.recherche}/search?q=552032534`);
    expect(at(recherche.body, 'results', 0, 'nom_complet')).toBe('DANONE');
    const insee = await getJson(`${sandbox.urls.insee}/siren/552032534`, key);
    expect(at(insee.body, 'uniteLegale', 'periodesUniteLegale', 0, 'denominationUniteLegale')).toBe('DANONE');
    const notices = await getJson(bodacc('552032534'));
    expect(at(notices.body, 'total_count')).toBe(3);
    expect(JSON.stringify(notices.body)).not.toContain('"collective"');
    const vies = await getJson(`${sandbox.urls.vies}/ms/FR/vat/27552032534`);
    expect(vies.body).toMatchObject({ isValid: true, userError: 'VALID', name: 'DANONE' });
  });

  it('knows nothing of the unknown SIREN', async () => {
    expect((await getJson(`${sandbox.urls.recherche}/search?q=910522473`)).body).toMatchObject({
      total_results: 0,
    });
    expect((await getJson(`${sandbox.urls.insee}/siren/910522473`, key)).status).toBe(404);
    expect((await getJson(bodacc('910522473'))).body).toEqual({ total_count: 0, results: [] });
    const vies = await getJson(
      `${sandbox.urls.vies}/ms/FR/vat/${frenchVatKey('910522473' as Siren)}910522473`,
    );
    expect(vies.body).toMatchObject({ isValid: false, userError: 'INVALID' });
  });

  it('answers the VIES outage with HTTP 200 and MS_UNAVAILABLE', async () => {
    const vies = await getJson(`${sandbox.urls.vies}/ms/FR/vat/72492673108`);
    expect(vies).toMatchObject({ status: 200, body: { isValid: false, userError: 'MS_UNAVAILABLE' } });
  });

  it('serves the closed establishment as closed in both SIRENE services', async () => {
    const recherche = await getJson(`${sandbox.urls.recherche}/search?q=51240863400032`);
    expect(at(recherche.body, 'results', 0, 'matching_etablissements', 0)).toMatchObject({
      etat_administratif: 'F',
      date_fermeture: '2025-09-30',
    });
    const insee = await getJson(`${sandbox.urls.insee}/siret/51240863400032`, key);
    expect(at(insee.body, 'etablissement', 'periodesEtablissement', 0)).toMatchObject({
      dateFin: null,
      dateDebut: '2025-09-30',
      etatAdministratifEtablissement: 'F',
    });
  });
});
