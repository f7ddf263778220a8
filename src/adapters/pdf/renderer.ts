import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import PDFDocument from 'pdfkit';
import { create as createQrCode } from 'qrcode';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReportDocument, ReportRenderer } from '#app/application/ports/report-renderer.ts';
import type { SourceReport } from '#app/domain/assessment.ts';
import {
  instantText,
  REPORT_WORDING as WORDING,
  SEVERITY_COLOUR,
  VERDICT_COLOUR,
  sealRows,
  signalText,
  sourceText,
  supplierRows,
} from '#app/domain/report-wording.ts';
import { ATTACHED_PAYLOAD_NAME } from '#app/domain/seal.ts';
import type { Signal } from '#app/domain/signals.ts';

/** Where the renderer finds its fonts. */
export interface PdfRendererOptions {
  /** A directory holding DejaVuSans.ttf and DejaVuSans-Bold.ttf; defaults to the `dejavu-fonts-ttf` package's. */
  readonly fontDir?: string;
}

/** A QR code as the modules to paint: the symbol's width in modules and every dark module. */
export interface QrSymbol {
  readonly size: number;
  readonly dark: readonly { readonly row: number; readonly col: number }[];
}

export { ATTACHED_PAYLOAD_NAME };

const RENDERER_UNAVAILABLE = 'RENDERER_UNAVAILABLE';
const REGULAR_FILE = 'DejaVuSans.ttf';
const BOLD_FILE = 'DejaVuSans-Bold.ttf';
// Level M restores a symbol with up to 15% of it damaged: enough for a printed, folded or photocopied page while
// keeping the modules large enough to scan from paper.
const QR_ERROR_CORRECTION = 'M';
const QR_QUIET_ZONE = 4;
const QR_SIDE = 118;

const MARGIN = 50;
const GAP = 4;
const LABEL_WIDTH = 160;
const INK = '#1a1a1a';
const MUTED = '#5f6368';
const BRAND = '#1f3a5f';
const RULE = '#c8ccd2';

/**
 * The modules of the QR code of `text` (error correction level M), row by row: the squares the renderer paints,
 * so what the PDF shows can be checked against the encoder without decoding an image.
 */
export const qrSymbol = (text: string): QrSymbol => {
  const { modules } = createQrCode(text, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  const dark: { row: number; col: number }[] = [];
  for (let row = 0; row < modules.size; row += 1) {
    for (let col = 0; col < modules.size; col += 1) {
      if (modules.get(row, col) === 1) dark.push({ row, col });
    }
  }
  return { size: modules.size, dark };
};

/** A font parsed once by fontkit, shared by every document the renderer draws. */
interface ParsedFont {
  readonly postscriptName: string;
  readonly hasGlyphForCodePoint: (codePoint: number) => boolean;
}

interface Fonts {
  readonly regular: ParsedFont;
  readonly bold: ParsedFont;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const isParsedFont = (value: unknown): value is ParsedFont =>
  isRecord(value) &&
  typeof value.layout === 'function' &&
  typeof value.createSubset === 'function' &&
  typeof value.hasGlyphForCodePoint === 'function' &&
  typeof value.postscriptName === 'string';

type FontParser = (bytes: Uint8Array) => unknown;

/**
 * pdfkit's own fontkit: pdfkit accepts an already parsed fontkit font as a font source, which is what lets one
 * parse serve every document (parsing DejaVu Sans for each document makes a render two to three times slower:
 * bench/render.bench.ts). Resolved from pdfkit's location, so it is the very fontkit pdfkit depends on.
 */
const loadFontParser = (): FontParser => {
  const require = createRequire(import.meta.url);
  const fontkit: unknown = createRequire(require.resolve('pdfkit'))('fontkit');
  if (!isRecord(fontkit)) throw new TypeError('fontkit did not load');
  const { create } = fontkit;
  if (typeof create !== 'function') throw new TypeError('fontkit has no create()');
  return (bytes) => {
    const parsed: unknown = Reflect.apply(create, fontkit, [bytes]);
    return parsed;
  };
};

const defaultFontDir = (): string =>
  join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');

const parseFont = (parse: FontParser, bytes: Uint8Array, file: string): ParsedFont => {
  const font = parse(bytes);
  if (!isParsedFont(font)) throw new TypeError(`${file} is not a TrueType font fontkit can lay out`);
  return font;
};

const loadFonts = async (fontDir: string): Promise<Fonts> => {
  const parse = loadFontParser();
  const [regular, bold] = await Promise.all([
    readFile(join(fontDir, REGULAR_FILE)),
    readFile(join(fontDir, BOLD_FILE)),
  ]);
  return {
    regular: parseFont(parse, regular, REGULAR_FILE),
    bold: parseFont(parse, bold, BOLD_FILE),
  };
};

// The typings list paths and bytes only; pdfkit's PDFFontFactory also takes a parsed fontkit font (anything with
// layout()), which isParsedFont checked.
const asFontSource = (font: ParsedFont): PDFKit.Mixins.PDFFontSource =>
  font as unknown as PDFKit.Mixins.PDFFontSource;

/** The height of rows stacked with the usual gap under each. */
const stacked = (values: readonly number[]): number => values.reduce((total, v) => total + v + GAP, 0);

/** 16 bytes of SHA-256 over the report id: the PDF's file identifier, the same for every render of a report. */
const fileId = (reportId: string): Buffer =>
  createHash('sha256').update(`vigilance-report-pdf:${reportId}`).digest().subarray(0, 16);

// pdfkit writes the info dictionary into the XMP packet without escaping, so what goes there must be XML-safe.
const xmlSafe = (text: string): string => text.replace(/[<>&]/g, ' ');

interface Style {
  readonly font: 'regular' | 'bold';
  readonly size: number;
  readonly colour: string;
}

const BODY: Style = { font: 'regular', size: 9.5, colour: INK };
const SMALL: Style = { font: 'regular', size: 8, colour: MUTED };
const LABEL: Style = { font: 'regular', size: 9, colour: MUTED };
const VALUE: Style = { font: 'bold', size: 9, colour: INK };
const HEADING: Style = { font: 'bold', size: 12.5, colour: BRAND };

/** One document being drawn: pdfkit's document and its fonts, with the layout helpers every section uses. */
class Canvas {
  readonly doc: PDFKit.PDFDocument;
  readonly fonts: Fonts;
  readonly left: number;
  readonly width: number;

  constructor(doc: PDFKit.PDFDocument, fonts: Fonts) {
    this.doc = doc;
    this.fonts = fonts;
    this.left = doc.page.margins.left;
    this.width = doc.page.width - doc.page.margins.left - doc.page.margins.right;
  }

  get bottom(): number {
    return this.doc.page.height - this.doc.page.margins.bottom;
  }

  /**
   * What can be printed of `text`: control characters become spaces and characters neither font has become "?",
   * since PDF/A forbids showing the .notdef glyph (a foreign trader name may use any script).
   */
  printable(text: string): string {
    let out = '';
    for (const char of text) {
      const code = char.codePointAt(0) ?? 0x3f;
      if (char === '\n') out += char;
      else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) out += ' ';
      else if (this.fonts.regular.hasGlyphForCodePoint(code) && this.fonts.bold.hasGlyphForCodePoint(code))
        out += char;
      else out += '?';
    }
    return out;
  }

  use(style: Style): void {
    this.doc.font(style.font).fontSize(style.size).fillColor(style.colour);
  }

  height(text: string, style: Style, width: number): number {
    this.use(style);
    return this.doc.heightOfString(this.printable(text), { width, lineGap: 1 });
  }

  /** Starts a new page unless `height` points still fit on this one. */
  room(height: number): void {
    if (this.doc.y + height > this.bottom) this.doc.addPage();
  }

  text(
    section: PDFKit.PDFStructureElement,
    text: string,
    style: Style,
    at: {
      readonly x?: number;
      readonly y?: number;
      readonly width?: number;
      readonly link?: string;
      readonly align?: 'left' | 'right';
    } = {},
    structType = 'P',
  ): void {
    this.use(style);
    this.doc.text(this.printable(text), at.x ?? this.left, at.y ?? this.doc.y, {
      width: at.width ?? this.width,
      lineGap: 1,
      align: at.align ?? 'left',
      structParent: section,
      structType,
      ...(at.link === undefined ? {} : { link: at.link }),
    });
  }

  /** Draws decoration (rules, boxes) as an artifact, outside the structure tree. */
  decoration(draw: () => void, type: 'Layout' | 'Pagination' = 'Layout'): void {
    this.doc.markContent('Artifact', { type });
    this.doc.save();
    draw();
    this.doc.restore();
    this.doc.endMarkedContent();
  }

  /** The usable height of a page. */
  get pageHeight(): number {
    return this.bottom - this.doc.page.margins.top;
  }

  /**
   * Starts a section with its heading. A heading never ends a page on its own: it moves to the next page unless
   * `keepWith` points of what follows fit under it (a few lines when what follows is longer than a page).
   */
  section(root: PDFKit.PDFStructureElement, title: string, keepWith: number): PDFKit.PDFStructureElement {
    const section = this.doc.struct('Sect');
    root.add(section);
    const heading = 10 + this.height(title, HEADING, this.width) + 10;
    this.room(heading + (heading + keepWith <= this.pageHeight ? keepWith : 40));
    this.doc.y += 10;
    this.text(section, title, HEADING, {}, 'H2');
    const y = this.doc.y + 2;
    this.decoration(() => {
      this.doc
        .moveTo(this.left, y)
        .lineTo(this.left + this.width, y)
        .lineWidth(0.6)
        .strokeColor(RULE)
        .stroke();
    });
    this.doc.y = y + 6;
    return section;
  }

  /** The height of each label-and-value row. */
  rowHeights(pairs: readonly (readonly [string, string])[]): readonly number[] {
    return pairs.map(([label, value]) =>
      Math.max(
        this.height(label, LABEL, LABEL_WIDTH - 8),
        this.height(value, VALUE, this.width - LABEL_WIDTH),
      ),
    );
  }

  /** Label and value side by side, one row per pair, kept on one page when they fit on one. */
  rows(section: PDFKit.PDFStructureElement, pairs: readonly (readonly [string, string])[]): void {
    const heights = this.rowHeights(pairs);
    const total = stacked(heights);
    if (total <= this.pageHeight) this.room(total);
    pairs.forEach(([label, value], i) => {
      const h = heights[i] ?? 0;
      this.room(h);
      const y = this.doc.y;
      this.text(section, label, LABEL, { x: this.left, y, width: LABEL_WIDTH - 8 });
      this.text(section, value, VALUE, { x: this.left + LABEL_WIDTH, y, width: this.width - LABEL_WIDTH });
      this.doc.y = y + h + GAP;
    });
  }
}

const drawHeader = (canvas: Canvas, root: PDFKit.PDFStructureElement, document: ReportDocument): void => {
  const { doc } = canvas;
  const t = WORDING[document.lang];
  const header = doc.struct('Sect');
  root.add(header);
  const top = doc.y;
  canvas.text(header, 'VIGILANCE', { font: 'bold', size: 10, colour: BRAND }, { y: top });
  canvas.text(header, `${t.reportId} ${document.reportId}`, SMALL, {
    x: canvas.left + canvas.width / 2,
    y: top + 1,
    width: canvas.width / 2,
    align: 'right',
  });
  doc.y = top + 18;
  canvas.text(header, t.title, { font: 'bold', size: 20, colour: INK }, {}, 'H1');
  canvas.text(header, t.sealedOn(instantText(document.sealedAt, document.lang)), SMALL);
  const y = doc.y + 6;
  canvas.decoration(() => {
    doc
      .moveTo(canvas.left, y)
      .lineTo(canvas.left + canvas.width, y)
      .lineWidth(1.2)
      .strokeColor(BRAND)
      .stroke();
  });
  doc.y = y + 4;
};

const drawSupplier = (canvas: Canvas, root: PDFKit.PDFStructureElement, document: ReportDocument): void => {
  const pairs = supplierRows(document);
  canvas.rows(
    canvas.section(root, WORDING[document.lang].supplier, stacked(canvas.rowHeights(pairs))),
    pairs,
  );
};

const drawVerdict = (canvas: Canvas, root: PDFKit.PDFStructureElement, document: ReportDocument): void => {
  const { doc } = canvas;
  const t = WORDING[document.lang];
  const { verdict, policyVersion } = document.assessment;
  const word: Style = { font: 'bold', size: 28, colour: '#ffffff' };
  const code: Style = { font: 'regular', size: 8.5, colour: '#ffffff' };
  const meaning: Style = { font: 'bold', size: 10.5, colour: '#ffffff' };
  const pad = 14;
  const wordWidth = 170;
  const meaningX = canvas.left + pad + wordWidth + 10;
  const meaningWidth = canvas.left + canvas.width - pad - meaningX;
  const leftHeight =
    canvas.height(t.verdictWord[verdict], word, wordWidth) +
    canvas.height(t.verdictCode(verdict, policyVersion), code, wordWidth);
  const boxHeight =
    Math.max(leftHeight, canvas.height(t.verdictMeaning[verdict], meaning, meaningWidth)) + 2 * pad;
  const section = canvas.section(root, t.verdict, boxHeight);
  const y = doc.y;
  canvas.decoration(() => {
    doc.roundedRect(canvas.left, y, canvas.width, boxHeight, 4).fillColor(VERDICT_COLOUR[verdict]).fill();
  });
  canvas.text(
    section,
    t.verdictWord[verdict],
    word,
    { x: canvas.left + pad, y: y + pad, width: wordWidth },
    'H3',
  );
  canvas.text(section, t.verdictCode(verdict, policyVersion), code, {
    x: canvas.left + pad,
    width: wordWidth,
  });
  canvas.text(section, t.verdictMeaning[verdict], meaning, { x: meaningX, y: y + pad, width: meaningWidth });
  doc.y = y + boxHeight + GAP;
};

/** Consecutive lines that belong together (a signal, a source), with an optional coloured bar beside them. */
interface Block {
  readonly lines: readonly Line[];
  readonly bar: string | null;
}

interface Line {
  readonly text: string;
  readonly style: Style;
  readonly link?: string;
}

const BLOCK_INDENT = 10;
const LINE_GAP = 1;

const blockHeight = (canvas: Canvas, block: Block): number =>
  block.lines.reduce(
    (total, line) => total + canvas.height(line.text, line.style, canvas.width - BLOCK_INDENT) + LINE_GAP,
    0,
  );

/** Draws blocks one under the other, each kept on one page with its bar; one longer than a page flows. */
const drawBlocks = (canvas: Canvas, section: PDFKit.PDFStructureElement, blocks: readonly Block[]): void => {
  const { doc } = canvas;
  const x = canvas.left + BLOCK_INDENT;
  const width = canvas.width - BLOCK_INDENT;
  for (const block of blocks) {
    const height = blockHeight(canvas, block);
    const fits = height <= canvas.pageHeight;
    if (fits) canvas.room(height);
    const y = doc.y;
    const { bar } = block;
    if (fits && bar !== null) {
      canvas.decoration(() => {
        doc
          .rect(canvas.left, y, 3, height - LINE_GAP)
          .fillColor(bar)
          .fill();
      });
    }
    const item = doc.struct('Div');
    section.add(item);
    for (const line of block.lines) {
      canvas.text(item, line.text, line.style, {
        x,
        width,
        ...(line.link === undefined ? {} : { link: line.link }),
      });
      doc.y += LINE_GAP;
    }
    doc.y += 7;
  }
};

/** One signal: severity, source and code; the summary; then its evidence and dates. */
const signalBlock = (signal: Signal, document: ReportDocument): Block => {
  const text = signalText(signal, document.lang);
  const lines: Line[] = [
    { text: text.heading, style: { font: 'bold', size: 9, colour: SEVERITY_COLOUR[signal.severity] } },
    { text: text.summary, style: BODY },
    ...text.notes.map((note) => ({ text: note, style: SMALL })),
    ...text.urls.map((url) => ({ text: url, style: { ...SMALL, colour: BRAND }, link: url })),
  ];
  return { lines, bar: SEVERITY_COLOUR[signal.severity] };
};

/** One source: its status; the service, duration and observation time; why it did not answer. */
const sourceBlock = (source: SourceReport, document: ReportDocument): Block => {
  const text = sourceText(source, document.lang);
  return {
    lines: [
      {
        text: text.heading,
        style: { font: 'bold', size: 9.5, colour: text.unavailable ? VERDICT_COLOUR.RED : INK },
      },
      ...(text.details === null ? [] : [{ text: text.details, style: SMALL }]),
      ...(text.reason === null ? [] : [{ text: text.reason, style: SMALL }]),
    ],
    bar: text.unavailable ? VERDICT_COLOUR.RED : null,
  };
};

const drawSignals = (canvas: Canvas, root: PDFKit.PDFStructureElement, document: ReportDocument): void => {
  const t = WORDING[document.lang];
  const { signals } = document.assessment;
  const blocks = signals.map((signal) => signalBlock(signal, document));
  const first = blocks[0];
  const section = canvas.section(
    root,
    t.signals(signals.length),
    first === undefined ? 20 : blockHeight(canvas, first),
  );
  if (first === undefined) canvas.text(section, t.noSignal, BODY);
  else drawBlocks(canvas, section, blocks);
};

const drawSources = (canvas: Canvas, root: PDFKit.PDFStructureElement, document: ReportDocument): void => {
  const t = WORDING[document.lang];
  const blocks = document.assessment.sources.map((source) => sourceBlock(source, document));
  const first = blocks[0];
  drawBlocks(
    canvas,
    canvas.section(root, t.sources, first === undefined ? 0 : blockHeight(canvas, first)),
    blocks,
  );
};

const drawSeal = (canvas: Canvas, root: PDFKit.PDFStructureElement, document: ReportDocument): void => {
  const pairs = sealRows(document);
  canvas.rows(canvas.section(root, WORDING[document.lang].seal, stacked(canvas.rowHeights(pairs))), pairs);
};

const drawQr = (
  canvas: Canvas,
  parent: PDFKit.PDFStructureElement,
  url: string,
  alt: string,
  at: { readonly x: number; readonly y: number },
): void => {
  const { doc } = canvas;
  const symbol = qrSymbol(url);
  const module = QR_SIDE / (symbol.size + 2 * QR_QUIET_ZONE);
  // Figure content, not an artifact: the QR code is the report's link to its proof.
  parent.add(
    doc.struct('Figure', { alt }, () => {
      doc.save();
      doc.translate(at.x + QR_QUIET_ZONE * module, at.y + QR_QUIET_ZONE * module).scale(module);
      for (const { row, col } of symbol.dark) doc.rect(col, row, 1, 1);
      doc.fillColor('#000000').fill();
      doc.restore();
    }),
  );
};

const STEP: Style = { ...BODY, size: 8.5 };

const drawVerification = (
  canvas: Canvas,
  root: PDFKit.PDFStructureElement,
  document: ReportDocument,
): void => {
  const { doc } = canvas;
  const t = WORDING[document.lang];
  const url = document.verificationUrl;
  const stepsX = canvas.left + QR_SIDE + 16;
  const stepsWidth = canvas.left + canvas.width - stepsX;
  const steps = [...t.steps, t.attachmentStep];
  const stepsHeight = steps.reduce((total, step) => total + canvas.height(step, STEP, stepsWidth) + 3, 0);
  const urlHeight = canvas.height(url, SMALL, canvas.width);
  const section = canvas.section(root, t.howToVerify, Math.max(QR_SIDE, stepsHeight) + 4 + urlHeight);
  const y = doc.y;
  drawQr(canvas, section, url, t.qrAlt(url), { x: canvas.left, y });
  doc.y = y + 6;
  for (const step of steps) {
    canvas.text(section, step, STEP, { x: stepsX, width: stepsWidth });
    doc.y += 3;
  }
  doc.y = Math.max(doc.y, y + QR_SIDE) + 4;
  // Printed in full under the code, for whoever cannot scan it.
  canvas.text(section, url, { ...SMALL, colour: BRAND }, { link: url });
};

const drawFooters = (canvas: Canvas, document: ReportDocument): void => {
  const { doc } = canvas;
  const t = WORDING[document.lang];
  const { start, count } = doc.bufferedPageRange();
  for (let i = 0; i < count; i += 1) {
    doc.switchToPage(start + i);
    // Text below the bottom margin would make pdfkit open a new page.
    const margin = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    const y = doc.page.height - MARGIN + 18;
    canvas.decoration(() => {
      canvas.use(SMALL);
      doc.text(canvas.printable(`Vigilance · ${t.reportId} ${document.reportId}`), canvas.left, y, {
        width: canvas.width,
        lineBreak: false,
      });
      doc.text(t.page(i + 1, count), canvas.left, y, {
        width: canvas.width,
        align: 'right',
        lineBreak: false,
      });
    }, 'Pagination');
    doc.page.margins.bottom = margin;
  }
};

const render = (document: ReportDocument, fonts: Fonts): Promise<Uint8Array> => {
  const t = WORDING[document.lang];
  const sealedAt = new Date(document.sealedAt);
  if (Number.isNaN(sealedAt.getTime())) throw new TypeError('sealedAt is not an ISO instant');
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    pdfVersion: '1.7',
    subset: 'PDF/A-3b',
    tagged: true,
    displayTitle: true,
    lang: document.lang,
    bufferPages: true,
    info: {
      Title: xmlSafe(`${t.title} ${document.assessment.subject.query}`),
      Author: 'Vigilance',
      Creator: 'Vigilance',
      CreationDate: sealedAt,
      ModDate: sealedAt,
    },
  });
  // pdfkit hashes the info dictionary into the trailer /ID when the document is created; a file identifier
  // derived from the report id alone states what it is (this report) and stays stable if the wording changes.
  const builtId: unknown = Reflect.get(doc, '_id');
  if (!(builtId instanceof Uint8Array)) throw new TypeError('pdfkit no longer keeps the file ID in _id');
  Reflect.set(doc, '_id', fileId(document.reportId));

  const chunks: Uint8Array[] = [];
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on('data', (chunk: Uint8Array) => chunks.push(chunk));
    doc.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    doc.on('error', reject);
  });

  doc.registerFont('regular', asFontSource(fonts.regular));
  doc.registerFont('bold', asFontSource(fonts.bold));
  const canvas = new Canvas(doc, fonts);
  const root = doc.struct('Document', { lang: document.lang });
  doc.addStructure(root);
  drawHeader(canvas, root, document);
  drawSupplier(canvas, root, document);
  drawVerdict(canvas, root, document);
  drawSignals(canvas, root, document);
  drawSources(canvas, root, document);
  drawSeal(canvas, root, document);
  drawVerification(canvas, root, document);
  drawFooters(canvas, document);
  root.end();

  const payload = Buffer.from(document.attachedPayload, 'utf8');
  // Typed apart because the typings predate `relationship` (PDF/A-3's AFRelationship, "Data" for source data).
  const attachment: PDFKit.Mixins.PDFAttachmentOptions & { readonly relationship: 'Data' } = {
    name: ATTACHED_PAYLOAD_NAME,
    type: 'application/json',
    description: t.attachmentDescription,
    creationDate: sealedAt,
    modifiedDate: sealedAt,
    relationship: 'Data',
  };
  doc.file(payload, attachment);
  // pdfkit writes xmp:CreateDate only; PDF/A wants every info entry mirrored in XMP, ModDate included.
  const xmpDate = `${sealedAt.toISOString().split('.')[0] ?? ''}Z`;
  doc.appendXML(
    `<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"><xmp:ModifyDate>${xmpDate}</xmp:ModifyDate></rdf:Description>`,
  );
  doc.end();
  return done;
};

/**
 * The pdfkit renderer: an A4 PDF/A-3b report in French or English, DejaVu Sans embedded and subset, the QR code
 * drawn as vector squares, the seal payload attached as `seal-payload.json`. Deterministic: the creation and
 * modification dates are the seal time and the file ID derives from the report id, so the same document always
 * gives the same bytes. The fonts are read and parsed once, on first use, and shared by every render.
 * Faults (fonts missing, a document pdfkit cannot draw) are thrown as InfrastructureError RENDERER_UNAVAILABLE.
 */
export const createPdfRenderer = (options: PdfRendererOptions = {}): ReportRenderer => {
  let fonts: Promise<Fonts> | null = null;
  const loaded = (): Promise<Fonts> => {
    if (fonts === null) {
      const loading = loadFonts(options.fontDir ?? defaultFontDir());
      // A failed load is not cached, so a fixed font directory is picked up by the next render.
      loading.catch(() => {
        if (fonts === loading) fonts = null;
      });
      fonts = loading;
    }
    return fonts;
  };
  return {
    render: async (document) => {
      let parsed: Fonts;
      try {
        parsed = await loaded();
      } catch (cause) {
        throw new InfrastructureError(
          RENDERER_UNAVAILABLE,
          `The report fonts could not be loaded: the font directory must hold ${REGULAR_FILE} and ${BOLD_FILE}.`,
          { cause },
        );
      }
      try {
        return await render(document, parsed);
      } catch (cause) {
        throw new InfrastructureError(RENDERER_UNAVAILABLE, 'The report PDF could not be rendered.', {
          cause,
        });
      }
    },
  };
};
