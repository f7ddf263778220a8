import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { create as createQrCode } from 'qrcode';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReportDocument, ReportRenderer } from '#app/application/ports/report-renderer.ts';
import type { SourceReport } from '#app/domain/assessment.ts';
import {
  instantText,
  REPORT_WORDING,
  SEVERITY_COLOUR,
  VERDICT_COLOUR,
  sealRows,
  signalText,
  sourceText,
  supplierRows,
} from '#app/domain/report-wording.ts';
import type { Signal } from '#app/domain/signals.ts';

/** How the Chromium renderer starts its browser. */
export interface ChromiumRendererOptions {
  /** The Chromium binary; Debian's `/usr/bin/chromium` by default (never a browser downloaded by Playwright). */
  readonly executablePath?: string;
  /** How many warm pages render at once; renders beyond that wait their turn. 2 by default. */
  readonly pages?: number;
}

/** A running Chromium renderer: render through the port, close() to stop the browser and remove its profile. */
export interface ChromiumRenderer extends ReportRenderer {
  /** The temporary profile directory of this renderer's browser (its processes carry it on their command line). */
  readonly profileDir: string;
  /** Closes the browser context (and so the browser) and removes the temporary profile. Idempotent. */
  close(): Promise<void>;
}

const RENDERER_UNAVAILABLE = 'RENDERER_UNAVAILABLE';
const DEFAULT_EXECUTABLE = '/usr/bin/chromium';
const DEFAULT_PAGES = 2;
// The flags known to work on these machines (node-svc.md): no sandbox as root, no GPU, and none of Chromium's
// background connections, which the closed network refuses many at a time.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const REGULAR_FILE = 'DejaVuSans.ttf';
const BOLD_FILE = 'DejaVuSans-Bold.ttf';
// Same symbol as the pdfkit renderer: level M survives 15% damage (a folded or photocopied page).
const QR_ERROR_CORRECTION = 'M';
const QR_QUIET_ZONE = 4;
// A render that takes longer than this is a hung browser, not a slow one.
const RENDER_TIMEOUT_MS = 20_000;

type Lang = ReportDocument['lang'];

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text as HTML character data or attribute value: markup characters escaped, control characters (which HTML
 * would keep or drop unpredictably) turned into spaces. Every string from a document goes through here.
 */
export const escapeHtml = (text: string): string =>
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, ' ').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** The QR code of `url` as inline SVG squares, one per dark module, so it stays vector in the PDF. */
const qrSvg = (url: string, alt: string): string => {
  const { modules } = createQrCode(url, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  const side = modules.size + 2 * QR_QUIET_ZONE;
  let squares = '';
  for (let row = 0; row < modules.size; row += 1) {
    for (let col = 0; col < modules.size; col += 1) {
      if (modules.get(row, col) === 1) {
        squares += `<rect x="${col + QR_QUIET_ZONE}" y="${row + QR_QUIET_ZONE}" width="1" height="1"/>`;
      }
    }
  }
  return (
    `<svg class="qr" role="img" aria-label="${escapeHtml(alt)}" viewBox="0 0 ${side} ${side}" ` +
    `shape-rendering="crispEdges" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(alt)}</title>` +
    `<rect width="${side}" height="${side}" fill="#ffffff"/><g fill="#000000">${squares}</g></svg>`
  );
};

const rows = (pairs: readonly (readonly [string, string])[]): string =>
  `<dl class="rows">${pairs
    .map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`)
    .join('')}</dl>`;

const link = (url: string): string => `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;

const signalHtml = (signal: Signal, document: ReportDocument): string => {
  const text = signalText(signal, document.lang);
  const colour = SEVERITY_COLOUR[signal.severity];
  const lines = [
    `<p class="tag" style="color:${colour}">${escapeHtml(text.heading)}</p>`,
    `<p>${escapeHtml(text.summary)}</p>`,
    ...text.notes.map((note) => `<p class="small">${escapeHtml(note)}</p>`),
    ...text.urls.map((url) => `<p class="small">${link(url)}</p>`),
  ];
  return `<div class="block" style="border-color:${colour}">${lines.join('')}</div>`;
};

const sourceHtml = (source: SourceReport, document: ReportDocument): string => {
  const text = sourceText(source, document.lang);
  const colour = text.unavailable ? VERDICT_COLOUR.RED : 'transparent';
  return (
    `<div class="block" style="border-color:${colour}">` +
    `<p class="tag" style="color:${text.unavailable ? VERDICT_COLOUR.RED : '#1a1a1a'}">${escapeHtml(text.heading)}</p>` +
    (text.details === null ? '' : `<p class="small">${escapeHtml(text.details)}</p>`) +
    (text.reason === null ? '' : `<p class="small">${escapeHtml(text.reason)}</p>`) +
    `</div>`
  );
};

/** The fonts, embedded in the template so the page loads nothing: DejaVu Sans, regular and bold. */
interface FontFaces {
  readonly css: string;
}

const defaultFontDir = (): string =>
  join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');

const loadFontFaces = async (): Promise<FontFaces> => {
  const dir = defaultFontDir();
  const [regular, bold] = await Promise.all([
    readFile(join(dir, REGULAR_FILE)),
    readFile(join(dir, BOLD_FILE)),
  ]);
  const face = (bytes: Buffer, weight: number): string =>
    `@font-face{font-family:"Report Sans";font-weight:${weight};` +
    `src:url(data:font/ttf;base64,${bytes.toString('base64')}) format("truetype");}`;
  return { css: face(regular, 400) + face(bold, 700) };
};

const STYLE = `
@page { size: A4; margin: 50pt 50pt 50pt 50pt; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; font-family: "Report Sans", sans-serif; font-size: 9.5pt; line-height: 1.3; color: #1a1a1a; }
p { margin: 0 0 1pt 0; }
a { color: #1f3a5f; text-decoration: none; }
header .brand { display: flex; justify-content: space-between; align-items: baseline; }
header .brand b { color: #1f3a5f; font-size: 10pt; }
h1 { font-size: 20pt; margin: 6pt 0 2pt 0; }
h2 { font-size: 12.5pt; color: #1f3a5f; margin: 14pt 0 6pt 0; padding-bottom: 2pt; border-bottom: 0.6pt solid #c8ccd2;
  break-after: avoid; }
.rule { border-bottom: 1.2pt solid #1f3a5f; margin-top: 6pt; }
.small { font-size: 8pt; color: #5f6368; }
.rows { display: grid; grid-template-columns: 160pt 1fr; row-gap: 4pt; margin: 0; break-inside: avoid; }
.rows dt { color: #5f6368; font-size: 9pt; padding-right: 8pt; }
.rows dd { margin: 0; font-weight: 700; font-size: 9pt; overflow-wrap: anywhere; }
.verdict { display: flex; gap: 10pt; padding: 14pt; border-radius: 4pt; color: #ffffff; break-inside: avoid; }
.verdict .word { width: 170pt; flex: none; }
.verdict h3 { font-size: 28pt; margin: 0; }
.verdict .code { font-size: 8.5pt; }
.verdict .meaning { font-weight: 700; font-size: 10.5pt; }
.block { border-left: 3pt solid transparent; padding-left: 7pt; margin-bottom: 7pt; break-inside: avoid;
  overflow-wrap: anywhere; }
.block .tag { font-weight: 700; font-size: 9pt; }
.verify { display: flex; gap: 16pt; break-inside: avoid; }
.verify .qr { width: 118pt; height: 118pt; flex: none; }
.verify ol { list-style: none; padding: 6pt 0 0 0; margin: 0; font-size: 8.5pt; }
.verify li { margin-bottom: 3pt; }
.url { font-size: 8pt; margin-top: 4pt; overflow-wrap: anywhere; }
`;

/** The report's body: every text escaped, the QR code as inline SVG, no script, nothing to fetch. */
const reportBody = (document: ReportDocument): string => {
  const t = REPORT_WORDING[document.lang];
  const { lang } = document;
  const { verdict, policyVersion, signals, sources } = document.assessment;
  const supplier = supplierRows(document);
  const seal = sealRows(document);
  const url = document.verificationUrl;
  return `<header>
<div class="brand"><b>VIGILANCE</b><span class="small">${escapeHtml(`${t.reportId} ${document.reportId}`)}</span></div>
<h1>${escapeHtml(t.title)}</h1>
<p class="small">${escapeHtml(t.sealedOn(instantText(document.sealedAt, lang)))}</p>
<div class="rule"></div>
</header>
<section><h2>${escapeHtml(t.supplier)}</h2>${rows(supplier)}</section>
<section><h2>${escapeHtml(t.verdict)}</h2>
<div class="verdict" style="background:${VERDICT_COLOUR[verdict]}">
<div class="word"><h3>${escapeHtml(t.verdictWord[verdict])}</h3><p class="code">${escapeHtml(
    t.verdictCode(verdict, policyVersion),
  )}</p></div>
<p class="meaning">${escapeHtml(t.verdictMeaning[verdict])}</p></div></section>
<section><h2>${escapeHtml(t.signals(signals.length))}</h2>${
    signals.length === 0
      ? `<p>${escapeHtml(t.noSignal)}</p>`
      : signals.map((signal) => signalHtml(signal, document)).join('')
  }</section>
<section><h2>${escapeHtml(t.sources)}</h2>${sources.map((source) => sourceHtml(source, document)).join('')}</section>
<section><h2>${escapeHtml(t.seal)}</h2>${rows(seal)}</section>
<section><h2>${escapeHtml(t.howToVerify)}</h2>
<div class="verify">${qrSvg(url, t.qrAlt(url))}<ol>${t.steps
    .map((step) => `<li>${escapeHtml(step)}</li>`)
    .join('')}</ol></div>
<p class="url">${link(url)}</p></section>`;
};

/** The page around a report: its language and title, inline CSS with the fonts embedded, a policy that loads nothing. */
const pageHtml = (fontCss: string, lang: Lang, title: string, body: string): string => `<!DOCTYPE html>
<html lang="${lang}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; font-src data:">
<title>${escapeHtml(title)}</title>
<style>${fontCss}${STYLE}</style></head>
<body>${body}</body></html>`;

const titleOf = (document: ReportDocument): string =>
  `${REPORT_WORDING[document.lang].title} ${document.assessment.subject.query}`;

/** The report as one self-contained HTML page: inline CSS and fonts, inline SVG, no script, nothing to fetch. */
export const reportHtml = (document: ReportDocument, fontCss = ''): string =>
  pageHtml(fontCss, document.lang, titleOf(document), reportBody(document));

/** The page footer Chromium prints on every page: report id left, page number right. */
const footerHtml = (document: ReportDocument): string =>
  `<div style="width:100%;margin:0 50pt;font-family:sans-serif;font-size:8pt;color:#5f6368;display:flex;` +
  `justify-content:space-between"><span>${escapeHtml(
    `Vigilance · ${REPORT_WORDING[document.lang].reportId} ${document.reportId}`,
  )}</span><span>page <span class="pageNumber"></span> / <span class="totalPages"></span></span></div>`;

// ---- Determinism: Chromium (Skia) stamps the PDF's info dictionary with the render time; nothing else differs
// between two renders of the same page by the same Chromium (it writes no trailer /ID).

/** `D:YYYYMMDDHHmmSS+00'00'` of an ISO instant: Skia's own date format, in UTC. */
const pdfDate = (instant: Date): string =>
  `D:${instant.toISOString().replace(/[-:T]/g, '').slice(0, 14)}+00'00'`;

/**
 * Sets the /CreationDate and /ModDate of the PDF's info dictionary to the seal time, in place and at the same
 * length so every xref offset stays right; only inside the object the trailer's /Info points to, never in page
 * content or a link. Throws if Chromium's output no longer has that shape, rather than return unstable bytes.
 */
export const stabilisePdf = (pdf: Uint8Array, sealedAt: string): Uint8Array => {
  const instant = new Date(sealedAt);
  if (Number.isNaN(instant.getTime())) throw new TypeError('sealedAt is not an ISO instant');
  const bytes = Buffer.from(pdf);
  // latin1 maps bytes to code units one to one, so string positions are byte positions.
  const text = bytes.toString('latin1');
  const trailer = text.lastIndexOf('trailer');
  const info = /\/Info (\d+) 0 R/.exec(text.slice(trailer));
  if (trailer === -1 || info === null) throw new TypeError('Chromium wrote no /Info in the PDF trailer');
  const header = `\n${info[1] ?? ''} 0 obj\n`;
  const start = text.indexOf(header);
  const end = text.indexOf('endobj', start);
  if (start === -1 || end === -1) throw new TypeError('the PDF info object was not found');
  const date = pdfDate(instant);
  let dates = 0;
  const rewritten = text
    .slice(start, end)
    .replace(/\/(CreationDate|ModDate) \((D:[^)]*)\)/g, (whole: string, key: string, written: string) => {
      if (written.length !== date.length)
        throw new TypeError(`Chromium wrote a ${key} of an unexpected form`);
      dates += 1;
      return `/${key} (${date})`;
    });
  if (dates === 0) throw new TypeError('Chromium wrote no date in the PDF info');
  const out = Buffer.from(bytes);
  out.write(rewritten, start, 'latin1');
  return out;
};

/** What a render touches of the page's window, the project being compiled without the DOM library. */
interface ReportWindow {
  readonly document: {
    readonly documentElement: { lang: string };
    title: string;
    readonly body: { innerHTML: string };
    readonly fonts: { readonly ready: Promise<unknown> };
  };
}

/** A fixed set of warm pages handed out one render at a time, renders queueing when all are busy. */
class PagePool {
  readonly #context: BrowserContext;
  readonly #idle: Page[] = [];
  readonly #waiting: ((page: Page) => void)[] = [];

  constructor(context: BrowserContext, pages: readonly Page[]) {
    this.#context = context;
    this.#idle.push(...pages);
  }

  acquire(): Promise<Page> {
    const page = this.#idle.pop();
    if (page !== undefined) return Promise.resolve(page);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(page: Page): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#idle.push(page);
    else next(page);
  }

  /** Gives back a fresh page for one that failed, so a crashed renderer process does not shrink the pool. */
  async replace(page: Page): Promise<void> {
    await page.close().catch(() => undefined);
    try {
      this.release(await this.#context.newPage());
    } catch {
      // The context itself is gone: render() reports it, and close() cleans up.
    }
  }
}

const unavailable = (message: string, cause?: unknown): InfrastructureError =>
  new InfrastructureError(RENDERER_UNAVAILABLE, message, cause === undefined ? {} : { cause });

/**
 * The Chromium renderer: the report as a self-contained HTML page (inline CSS, DejaVu Sans embedded, the QR code
 * as inline SVG squares), printed to an A4 tagged PDF by Debian's Chromium through playwright-core, in a browser
 * started with a fresh temporary profile. A pool of warm pages is reused across renders: a new page per report
 * costs several times a reused one. The PDF's info dates are rewritten to the seal time and its file ID derived
 * from the report id, so the same document gives the same bytes with the same Chromium. It attaches nothing and
 * is not PDF/A: the pdfkit renderer is the archival one. Faults are thrown as InfrastructureError
 * RENDERER_UNAVAILABLE.
 */
export const createChromiumRenderer = async (
  options: ChromiumRendererOptions = {},
): Promise<ChromiumRenderer> => {
  const size = options.pages ?? DEFAULT_PAGES;
  if (!Number.isInteger(size) || size < 1)
    throw unavailable('The Chromium renderer needs at least one page.');
  const fonts = await loadFontFaces().catch((cause: unknown) => {
    throw unavailable(
      `The report fonts could not be loaded: ${REGULAR_FILE} and ${BOLD_FILE} are needed.`,
      cause,
    );
  });
  const profileDir = await mkdtemp(join(tmpdir(), 'vigilance-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: options.executablePath ?? DEFAULT_EXECUTABLE,
      headless: true,
      args: CHROMIUM_ARGS,
      // Nothing in a report is fetched; offline makes sure nothing can be.
      offline: true,
    });
  } catch (cause) {
    await rm(profileDir, { recursive: true, force: true });
    throw unavailable('Chromium could not be started.', cause);
  }
  let closed: Promise<void> | null = null;
  let pool: PagePool;
  try {
    // A persistent context opens with one page already: it is the pool's first.
    const pages = [...context.pages().slice(0, size)];
    while (pages.length < size) pages.push(await context.newPage());
    pool = new PagePool(context, pages);
  } catch (cause) {
    await context.close().catch(() => undefined);
    await rm(profileDir, { recursive: true, force: true });
    throw unavailable('Chromium could not open its pages.', cause);
  }

  // Each page holds the fonts and styles in its head from its first render on; a render replaces only the body.
  // Sending DejaVu Sans (about 1 MB) with every page, and Chromium parsing it again, tripled the time of a render.
  const warm = new WeakSet<Page>();
  const isClosed = (): boolean => closed !== null;
  const print = async (page: Page, document: ReportDocument): Promise<Uint8Array> => {
    if (!warm.has(page)) {
      await page.setContent(pageHtml(fonts.css, 'fr', '', ''), {
        waitUntil: 'load',
        timeout: RENDER_TIMEOUT_MS,
      });
      warm.add(page);
    }
    // innerHTML runs no script, and every text in the body is escaped: a document can only ever show as text.
    await page.evaluate(
      async ([lang, title, body]) => {
        // Runs in the page: the project compiles without the DOM library, so the little it touches is typed here.
        const { document: html } = globalThis as unknown as ReportWindow;
        html.documentElement.lang = lang;
        html.title = title;
        html.body.innerHTML = body;
        await html.fonts.ready;
      },
      [document.lang, titleOf(document), reportBody(document)] as const,
    );
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      tagged: true,
      preferCSSPageSize: true,
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate: footerHtml(document),
    });
    return stabilisePdf(pdf, document.sealedAt);
  };

  return {
    profileDir,
    render: async (document) => {
      if (isClosed()) throw unavailable('The Chromium renderer is closed.');
      const page = await pool.acquire();
      let result: Uint8Array;
      try {
        result = await print(page, document);
      } catch (cause) {
        if (!isClosed()) await pool.replace(page);
        throw unavailable('The report PDF could not be rendered by Chromium.', cause);
      }
      pool.release(page);
      return result;
    },
    close: () => {
      closed ??= (async () => {
        try {
          await context.close();
        } finally {
          await rm(profileDir, { recursive: true, force: true });
        }
      })();
      return closed;
    },
  };
};
