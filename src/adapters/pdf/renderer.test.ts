import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { create as createQrCode } from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReportDocument } from '#app/application/ports/report-renderer.ts';
import { SIGNAL_CODES, type Signal } from '#app/domain/signals.ts';
import { ATTACHED_PAYLOAD_NAME, createPdfRenderer, qrSymbol } from './renderer.ts';
import { servicesRequired } from '../../../test/support/services.ts';
import type { Assessment } from '#app/domain/assessment.ts';
import { AT, KEY_ID, REPORT_ID, SIREN, URL, green, red, report } from '../../../test/support/reports.ts';

const run = promisify(execFile);

/** `count` distinct signals, every code and severity in turn, each with its own summary and evidence. */
const manySignals = (count: number): Assessment => {
  const severities = ['BLOCKING', 'WARNING', 'INFO'] as const;
  const sources = ['sirene', 'bodacc', 'vies'] as const;
  const signals: Signal[] = Array.from({ length: count }, (_, i) => ({
    source: sources[i % sources.length] ?? 'sirene',
    code: SIGNAL_CODES[i % SIGNAL_CODES.length] ?? 'SIRENE_ACTIVE',
    severity: severities[i % severities.length] ?? 'INFO',
    summary: {
      fr: `Signal de test numéro ${i} : une phrase assez longue pour occuper une ligne entière du rapport.`,
      en: `Test signal number ${i}: a sentence long enough to take a whole line of the report.`,
    },
    evidence: {
      references: [`REF${String(i).padStart(4, '0')}`],
      dates: { publishedOn: '2025-03-01' },
      urls: [`https://registry.example/records/${i}`],
    },
    observedAt: AT,
    effectiveFrom: '2025-02-20',
  }));
  return { ...red, signals };
};

// ---- Reading the PDF's own structure (pdfkit writes one object per "N 0 obj", streams with a direct /Length).

interface PdfStream {
  readonly dict: string;
  readonly data: Buffer;
}

const streamsOf = (pdf: Uint8Array): readonly PdfStream[] => {
  const bytes = Buffer.from(pdf);
  const text = bytes.toString('latin1');
  const streams: PdfStream[] = [];
  const objects = /\d+ 0 obj\n/g;
  for (let match = objects.exec(text); match !== null; match = objects.exec(text)) {
    const start = match.index + match[0].length;
    const streamAt = text.indexOf('\nstream\n', start);
    const endAt = text.indexOf('\nendobj', start);
    if (streamAt === -1 || (endAt !== -1 && endAt < streamAt)) continue;
    const dict = text.slice(start, streamAt);
    const length = Number(/\/Length (\d+)/.exec(dict)?.[1]);
    const raw = bytes.subarray(streamAt + 8, streamAt + 8 + length);
    streams.push({ dict, data: dict.includes('/FlateDecode') ? inflateSync(raw) : raw });
    objects.lastIndex = streamAt + 8 + length;
  }
  return streams;
};

const latin1 = (pdf: Uint8Array): string => Buffer.from(pdf).toString('latin1');

/** Every square painted inside the QR code's Figure, as "row,col". */
const drawnQrModules = (pdf: Uint8Array): readonly string[] => {
  const figures = streamsOf(pdf)
    .map((s) => s.data.toString('latin1'))
    .flatMap((content) => [...content.matchAll(/\/Figure <<[^>]*>> BDC\n([\s\S]*?)\nEMC/g)]);
  expect(figures).toHaveLength(1);
  const body = figures[0]?.[1] ?? '';
  return [...body.matchAll(/^(\d+) (\d+) 1 1 re$/gm)].map((m) => `${m[2]},${m[1]}`);
};

const squash = (text: string): string => text.replace(/\s+/g, '');

// ---- Poppler: text extraction, font and attachment listing as a PDF reader sees them.

const POPPLER = ['pdftotext', 'pdffonts', 'pdfdetach', 'pdfinfo'] as const;
const popplerMissing = POPPLER.filter((tool) => spawnSync(tool, ['-v']).error !== undefined);
if (popplerMissing.length > 0 && servicesRequired) {
  throw new Error(
    `REQUIRE_SERVICES=1 but ${popplerMissing.join(', ')} missing (apt-get install poppler-utils).`,
  );
}
const describeWithPoppler = popplerMissing.length === 0 ? describe : describe.skip;
const popplerNote =
  popplerMissing.length === 0
    ? ''
    : ` (skipped for a known reason: ${popplerMissing.join(', ')} missing; apt-get install poppler-utils)`;

const renderer = createPdfRenderer();

describe('the pdfkit report renderer', () => {
  it('renders the same document to the same bytes, again and from a fresh renderer', async () => {
    const first = await renderer.render(report());
    const [again, other] = await Promise.all([
      renderer.render(report()),
      renderer.render(report({ reportId: 'another', lang: 'en' })),
    ]);
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(other).equals(Buffer.from(first))).toBe(false);
    const fresh = await createPdfRenderer().render(report());
    expect(Buffer.from(fresh).equals(Buffer.from(first))).toBe(true);
  });

  it('gives other bytes for another seal time or report id', async () => {
    const base = Buffer.from(await renderer.render(report()));
    const later = Buffer.from(await renderer.render(report({ sealedAt: '2026-11-29T09:00:06.000Z' })));
    const otherId = Buffer.from(await renderer.render(report({ reportId: 'report-2' })));
    expect(later.equals(base)).toBe(false);
    expect(otherId.equals(base)).toBe(false);
  });

  it('dates the PDF at the seal and identifies it by the report id', async () => {
    const pdf = latin1(await renderer.render(report()));
    expect(pdf.startsWith('%PDF-1.7\n')).toBe(true);
    expect(pdf).toMatch(/\/CreationDate \d+ 0 R/);
    expect(pdf).toContain('(D:20261129090005Z)');
    expect(pdf).toContain('<xmp:CreateDate>2026-11-29T09:00:05Z</xmp:CreateDate>');
    expect(pdf).toContain('<xmp:ModifyDate>2026-11-29T09:00:05Z</xmp:ModifyDate>');
    const id = createHash('sha256').update(`vigilance-report-pdf:${REPORT_ID}`).digest().subarray(0, 16);
    expect(pdf).toContain(`/ID [<${id.toString('hex')}> <${id.toString('hex')}>]`);
    const otherId = latin1(await renderer.render(report({ reportId: 'report-2' })));
    expect(otherId).not.toContain(id.toString('hex'));
  });

  it('declares PDF/A-3b in its XMP metadata, with the sRGB output intent and a structure tree', async () => {
    const pdf = latin1(await renderer.render(report()));
    const xmp = streamsOf(await renderer.render(report()))
      .filter((s) => s.dict.includes('/Type /Metadata'))
      .map((s) => s.data.toString('utf8'));
    expect(xmp).toHaveLength(1);
    expect(xmp[0]).toContain('<pdfaid:part>3</pdfaid:part>');
    expect(xmp[0]).toContain('<pdfaid:conformance>B</pdfaid:conformance>');
    expect(pdf).toContain('/S /GTS_PDFA1');
    expect(pdf).toMatch(/\/StructTreeRoot \d+ 0 R/);
    expect(pdf).toMatch(/\/Marked true/);
  });

  it('attaches the seal payload as seal-payload.json, a PDF/A-3 associated file', async () => {
    const document = report();
    const pdf = await renderer.render(document);
    const files = streamsOf(pdf).filter((s) => s.dict.includes('/Type /EmbeddedFile'));
    expect(files).toHaveLength(1);
    expect(files[0]?.data.toString('utf8')).toBe(document.attachedPayload);
    expect(files[0]?.dict).toContain('/Subtype /application#2Fjson');
    expect(files[0]?.dict).toContain('/ModDate (D:20261129090005Z)');
    const text = latin1(pdf);
    expect(text).toContain(`/F (${ATTACHED_PAYLOAD_NAME})`);
    expect(text).toContain('/AFRelationship /Data');
    expect(text).toMatch(/\/AF \[\d+ 0 R\]/);
  });

  it('draws the QR code of the verification URL module for module', async () => {
    const symbol = qrSymbol(URL);
    const { modules } = createQrCode(URL, { errorCorrectionLevel: 'M' });
    const expected: string[] = [];
    for (let row = 0; row < modules.size; row += 1) {
      for (let col = 0; col < modules.size; col += 1) {
        if (modules.get(row, col) === 1) expected.push(`${row},${col}`);
      }
    }
    expect(symbol.size).toBe(modules.size);
    expect(symbol.dark.map(({ row, col }) => `${row},${col}`)).toEqual(expected);
    const drawn = drawnQrModules(await renderer.render(report()));
    expect([...drawn].sort()).toEqual([...expected].sort());
    const other = drawnQrModules(await renderer.render(report({ verificationUrl: `${URL}x` })));
    expect([...other].sort()).not.toEqual([...expected].sort());
  });

  it('flows 60 signals onto further pages', async () => {
    const pdf = latin1(await renderer.render(report({ assessment: manySignals(60) })));
    expect(pdf.match(/\/Type \/Page\n/g)?.length).toBeGreaterThanOrEqual(3);
  });

  it('throws RENDERER_UNAVAILABLE when the fonts are missing, and for a seal time that is not an instant', async () => {
    const missing = createPdfRenderer({ fontDir: join(tmpdir(), 'no-such-font-dir') });
    await expect(missing.render(report())).rejects.toThrow(InfrastructureError);
    await expect(missing.render(report())).rejects.toMatchObject({ code: 'RENDERER_UNAVAILABLE' });
    await expect(renderer.render(report({ sealedAt: 'yesterday' }))).rejects.toMatchObject({
      code: 'RENDERER_UNAVAILABLE',
    });
  });
});

describeWithPoppler(`the rendered report, as poppler reads it${popplerNote}`, () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigilance-pdf-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let files = 0;
  const save = async (document: ReportDocument): Promise<string> => {
    files += 1;
    const path = join(dir, `report-${files}.pdf`);
    await writeFile(path, await renderer.render(document));
    return path;
  };
  const textOf = async (path: string): Promise<string> =>
    (await run('pdftotext', ['-enc', 'UTF-8', path, '-'])).stdout;
  const pagesOf = async (path: string): Promise<number> =>
    Number(/^Pages:\s+(\d+)$/m.exec((await run('pdfinfo', [path])).stdout)?.[1]);

  it('shows the supplier, the verdict, every signal and the seal, in French by default', async () => {
    const text = squash(await textOf(await save(report())));
    for (const expected of [
      'Rapport de vigilance fournisseur',
      'DANONE',
      SIREN,
      'FR27552032534 (dérivé du SIREN)',
      'ROUGE',
      'Code RED',
      'Sources consultées',
      'VIES — indisponible',
      'timeout: no answer within 8000 ms',
      'Comment vérifier ce rapport',
      'vigilance verify report.pdf --seal report.seal.json',
      REPORT_ID,
      'assessment-42',
      KEY_ID,
      'PS256',
      URL,
      'page 1 / ',
    ]) {
      expect(text, expected).toContain(squash(expected));
    }
    expect(red.signals.length).toBeGreaterThanOrEqual(2);
    for (const signal of red.signals) {
      expect(text, signal.code).toContain(signal.code);
      expect(text, signal.code).toContain(squash(signal.summary.fr));
      for (const url of signal.evidence.urls) expect(text, url).toContain(url);
      for (const ref of signal.evidence.references) expect(text, ref).toContain(ref);
    }
    expect(text).not.toContain(squash('How to verify this report'));
    expect(text).not.toContain(squash('Demandé par'));
  });

  it('is in English with lang en, with whoever requested it', async () => {
    const requestedBy = 'Cabinet Dupont on behalf of ACME SAS';
    const text = squash(await textOf(await save(report({ lang: 'en', requestedBy }))));
    for (const expected of [
      'Supplier compliance report',
      'derived from the SIREN',
      'RED',
      'At least one blocking signal',
      'VIES — unavailable',
      'How to verify this report',
      'Requested by',
      requestedBy,
      REPORT_ID,
      KEY_ID,
      URL,
    ]) {
      expect(text, expected).toContain(squash(expected));
    }
    for (const signal of red.signals) expect(text, signal.code).toContain(squash(signal.summary.en));
    expect(text).not.toContain(squash('Comment vérifier ce rapport'));
    expect(text).not.toContain('ROUGE');
  });

  it('says GREEN with its meaning for a clean supplier', async () => {
    const text = squash(await textOf(await save(report({ assessment: green }))));
    expect(text).toContain('VERT');
    expect(text).toContain(squash('Aucun signal bloquant'));
    for (const signal of green.signals) expect(text, signal.code).toContain(signal.code);
  });

  it('embeds and subsets DejaVu Sans, regular and bold, and no other font', async () => {
    const { stdout } = await run('pdffonts', [await save(report({ assessment: manySignals(6) }))]);
    const rows = stdout.trim().split('\n').slice(2);
    expect(rows.map((row) => row.split(/\s+/)[0]?.replace(/^[A-Z]{6}\+/, '')).sort()).toEqual([
      'DejaVuSans',
      'DejaVuSans-Bold',
    ]);
    for (const row of rows) expect(row, row).toMatch(/\syes\s+yes\s+yes\s+\d+\s+0$/);
  });

  it('lists the attached payload, byte for byte', async () => {
    const document = report();
    const path = await save(document);
    expect((await run('pdfdetach', ['-list', path])).stdout).toContain(`1: ${ATTACHED_PAYLOAD_NAME}`);
    const out = join(dir, 'payload.json');
    await run('pdfdetach', ['-save', '1', '-o', out, path]);
    expect(await readFile(out, 'utf8')).toBe(document.attachedPayload);
  });

  it('loses none of 60 signals over several pages', async () => {
    const assessment = manySignals(60);
    const path = await save(report({ assessment }));
    expect(await pagesOf(path)).toBeGreaterThanOrEqual(3);
    const text = squash(await textOf(path));
    let from = 0;
    for (const signal of assessment.signals) {
      // In order, each once: the position of each summary comes after the previous one.
      const at = text.indexOf(squash(signal.summary.fr), from);
      expect(at, signal.summary.fr).toBeGreaterThanOrEqual(from);
      from = at + 1;
    }
    for (const i of [0, 29, 59]) expect(text).toContain(`REF${String(i).padStart(4, '0')}`);
    expect(text).toContain(URL);
  });

  it('prints a character no font has as "?" rather than an invisible glyph', async () => {
    const assessment: Assessment = { ...red, subject: { ...red.subject, name: 'DANONE 株式会社' } };
    const text = await textOf(await save(report({ assessment })));
    expect(text).toContain('DANONE ????');
  });
});
