import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import { servicesRequired } from '../../../test/support/services.ts';
import { createChromiumRenderer, escapeHtml, stabilisePdf, type ChromiumRenderer } from './renderer.ts';
import type { Assessment } from '#app/domain/assessment.ts';
import {
  KEY_ID,
  REPORT_ID,
  SEALED_AT,
  SIREN,
  URL,
  liquidation,
  red,
  report,
} from '../../../test/support/reports.ts';

const run = promisify(execFile);

// ---- The browser: Debian's chromium, required in CI, skipped with a visible reason elsewhere.

const CHROMIUM = '/usr/bin/chromium';
const POPPLER = ['pdftotext', 'pdfinfo'] as const;
const missing = [
  ...(spawnSync(CHROMIUM, ['--version']).error === undefined
    ? []
    : [`${CHROMIUM} (apt-get install chromium)`]),
  ...POPPLER.filter((tool) => spawnSync(tool, ['-v']).error !== undefined).map(
    (tool) => `${tool} (apt-get install poppler-utils)`,
  ),
];
if (missing.length > 0 && servicesRequired) {
  throw new Error(`REQUIRE_SERVICES=1 but ${missing.join(', ')} missing.`);
}
const describeWithChromium = missing.length === 0 ? describe : describe.skip;
const note = missing.length === 0 ? '' : ` (skipped for a known reason: ${missing.join(', ')} missing)`;

/** The pids whose command line names `profileDir` (the browser) and every process under them. */
const processesOf = (profileDir: string): readonly number[] => {
  const parents = new Map<number, number>();
  const roots: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      // The command name in parentheses may hold spaces: the parent pid is the 2nd field after it.
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(profileDir)) roots.push(pid);
    } catch {
      // The process ended while being listed.
    }
  }
  const ours = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!ours.has(pid) && ours.has(parent)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  return [...ours];
};

const isAlive = (pid: number): boolean => {
  try {
    // A zombie still has its /proc entry until reaped: only a running (or sleeping) process counts.
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
};

let dir = '';
let renderer: ChromiumRenderer;

const save = async (pdf: Uint8Array, name = 'report.pdf'): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, pdf);
  return path;
};
const textOf = async (pdf: Uint8Array): Promise<string> =>
  (await run('pdftotext', ['-enc', 'UTF-8', await save(pdf), '-'])).stdout;
const squash = (text: string): string => text.replace(/\s+/g, '');

describeWithChromium(`the Chromium report renderer${note}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigilance-chromium-test-'));
    renderer = await createChromiumRenderer({ pages: 2 });
  });

  afterAll(async () => {
    await renderer.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the supplier, the verdict, every signal, the seal and the verification URL, in French', async () => {
    const document = report();
    const text = await textOf(await renderer.render(document));
    const flat = squash(text);
    expect(text).toContain('Rapport de vigilance fournisseur');
    expect(text).toContain('DANONE');
    expect(text).toContain(SIREN);
    expect(text).toContain('ROUGE');
    expect(text).toContain('Code RED');
    expect(red.signals.length).toBeGreaterThan(0);
    for (const signal of red.signals) expect(flat).toContain(signal.code);
    for (const signal of red.signals) expect(flat).toContain(squash(signal.summary.fr));
    expect(flat).toContain(squash(liquidation.url));
    expect(text).toContain('VIES — indisponible');
    expect(flat).toContain(REPORT_ID);
    expect(flat).toContain(KEY_ID);
    expect(flat).toContain(URL);
    expect(text).toContain('Comment vérifier ce rapport');
  });

  it('speaks English when asked', async () => {
    const text = await textOf(await renderer.render(report({ lang: 'en' })));
    expect(text).toContain('Supplier compliance report');
    expect(text).toContain('RED');
    expect(text).not.toContain('ROUGE');
    expect(text).toContain('How to verify this report');
    expect(squash(text)).toContain(URL);
  });

  it('shows HTML in a supplier name as text, never as markup', async () => {
    const name =
      '<b>ACME</b><script>document.body.textContent="PWNED"</script><img src=x onerror=alert(1)> & "Co"';
    const assessment: Assessment = { ...red, subject: { ...red.subject, name } };
    const text = await textOf(await renderer.render(report({ assessment })));
    expect(squash(text)).toContain(squash(name));
    expect(text).toContain('Rapport de vigilance fournisseur');
    expect(escapeHtml(name)).not.toMatch(/[<>"]/);
  });

  it('renders the same document to the same bytes, dated at the seal', async () => {
    const first = Buffer.from(await renderer.render(report()));
    const again = Buffer.from(await renderer.render(report()));
    expect(again.equals(first)).toBe(true);
    const later = Buffer.from(await renderer.render(report({ sealedAt: '2026-11-29T09:00:06.000Z' })));
    expect(later.equals(first)).toBe(false);
    const info = (await run('pdfinfo', ['-isodates', await save(first)])).stdout;
    expect(info).toMatch(/^CreationDate:\s+2026-11-29T09:00:05(Z|\+00)/m);
    expect(info).toMatch(/^ModDate:\s+2026-11-29T09:00:05(Z|\+00)/m);
    expect(info).toMatch(/^Tagged:\s+yes$/m);
    expect(info).toMatch(/^Page size:\s+59\d(\.\d+)? x 84\d(\.\d+)? pts \(A4\)$/m);
  });

  it('renders concurrently through its pool of two pages, the extra renders waiting their turn', async () => {
    const documents = Array.from({ length: 6 }, (_, i) =>
      report({ reportId: `report-${i}`, lang: i % 2 === 0 ? 'fr' : 'en' }),
    );
    const pdfs = await Promise.all(documents.map((document) => renderer.render(document)));
    for (const [i, pdf] of pdfs.entries()) {
      expect(Buffer.from(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(squash(await textOf(pdf))).toContain(`report-${i}`);
    }
  });

  it('stops its browser on close() and removes its profile; renders after that fail as RENDERER_UNAVAILABLE', async () => {
    const own = await createChromiumRenderer({ pages: 1 });
    await own.render(report());
    const pids = processesOf(own.profileDir);
    expect(pids.length).toBeGreaterThan(0);
    await own.close();
    await own.close();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(processesOf(own.profileDir)).toEqual([]);
    expect(() => readdirSync(own.profileDir)).toThrow();
    await expect(own.render(report())).rejects.toMatchObject({ code: 'RENDERER_UNAVAILABLE' });
  });

  it('fails as RENDERER_UNAVAILABLE when the browser cannot start', async () => {
    const failure = await createChromiumRenderer({ executablePath: join(dir, 'no-chromium') }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(InfrastructureError);
    expect(failure).toMatchObject({ code: 'RENDERER_UNAVAILABLE' });
  });
});

describe('stabilisePdf', () => {
  const info = (date: string): string =>
    `%PDF-1.4\n1 0 obj\n<</Producer (Skia/PDF m156)\n/CreationDate (${date})\n/ModDate (${date})>>\nendobj\n` +
    `2 0 obj\n<</URI (/CreationDate \\(D:20200101000000+00'00'\\))>>\nendobj\ntrailer\n<</Size 3\n/Info 1 0 R>>\n%%EOF`;

  it('sets the info dates to the seal time, at the same length, and touches nothing else', () => {
    const before = Buffer.from(info(`D:20261129140826+01'00'`), 'latin1');
    const after = Buffer.from(stabilisePdf(before, SEALED_AT)).toString('latin1');
    expect(after).toBe(info(`D:20261129090005+00'00'`));
    expect(after.length).toBe(before.length);
    expect(after).toContain(`/URI (/CreationDate \\(D:20200101000000+00'00'\\))`);
  });

  it('refuses a PDF whose info it does not recognise rather than return unstable bytes', () => {
    expect(() => stabilisePdf(Buffer.from('%PDF-1.4\ntrailer\n<</Size 1>>\n%%EOF'), SEALED_AT)).toThrow();
    expect(() => stabilisePdf(Buffer.from(info('D:2026'), 'latin1'), SEALED_AT)).toThrow(/unexpected form/);
  });
});
