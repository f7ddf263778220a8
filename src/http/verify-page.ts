import type { PublicReportView } from '#app/application/use-cases/public-verification.ts';
import { instantText, REPORT_WORDING } from '#app/domain/report-wording.ts';
import type { PageLang } from './negotiation.ts';

/** Where the page's script and style are served; the page has no inline script or style (its CSP forbids them). */
export const ASSET_PATHS = { script: '/assets/verify.js', style: '/assets/verify.css' } as const;

export const JWKS_PATH = '/.well-known/jwks.json';

export interface VerifyPageInput {
  readonly view: PublicReportView;
  readonly lang: PageLang;
  /** The token in the address, which opened this view. */
  readonly token: string;
  /** True on `/verify/<token>/latest`: the newest report of the assessment the token's report belongs to. */
  readonly latest: boolean;
  /** The public origin, for the offline command (e.g. https://vigilance.example). */
  readonly origin: string;
}

interface PageWording {
  readonly htmlTitle: string;
  readonly heading: string;
  readonly intro: string;
  readonly otherLang: { readonly code: PageLang; readonly label: string };
  readonly latestNote: string;
  readonly valid: { readonly title: string; readonly text: string };
  readonly superseded: {
    readonly title: string;
    readonly text: (sealedAt: string, verdict: string) => string;
    readonly link: string;
  };
  readonly revoked: {
    readonly title: string;
    readonly text: (at: string) => string;
    readonly reason: string;
  };
  readonly signatureBroken: (code: string) => string;
  readonly subjectHeading: string;
  readonly sealHeading: string;
  readonly signature: string;
  readonly signatureValid: string;
  readonly signatureInvalid: (code: string) => string;
  readonly checkHeading: string;
  readonly checkIntro: string;
  readonly checkLabel: string;
  readonly script: {
    readonly reading: string;
    readonly match: string;
    readonly mismatch: string;
    readonly unsupported: string;
    readonly failed: string;
  };
  readonly computed: string;
  readonly noscript: string;
  readonly commandLine: string;
  readonly hashCommands: readonly string[];
  readonly pdfHash: string;
  readonly payloadHeading: string;
  readonly payloadIntro: string;
  readonly payload: string;
  readonly signatureValue: string;
  readonly downloadSeal: string;
  readonly offlineHeading: string;
  readonly offlineSteps: readonly string[];
  readonly json: string;
}

const WORDING: Readonly<Record<PageLang, PageWording>> = {
  fr: {
    htmlTitle: 'Vérification d’un rapport · Vigilance',
    heading: 'Vérification d’un rapport scellé',
    intro:
      'Cette page dit si le rapport qui porte cette adresse est toujours valide, et permet de vérifier que votre fichier est exactement celui qui a été scellé.',
    otherLang: { code: 'en', label: 'English' },
    latestNote: 'Vous consultez le rapport le plus récent de cette évaluation.',
    valid: { title: 'Rapport valide', text: 'Ce rapport n’a été ni remplacé ni révoqué.' },
    superseded: {
      title: 'Rapport remplacé',
      text: (at, verdict) =>
        `Un rapport plus récent de la même évaluation a été scellé le ${at} (verdict ${verdict}).`,
      link: 'Voir le rapport le plus récent',
    },
    revoked: {
      title: 'Rapport révoqué',
      text: (at) => `Ce rapport a été révoqué le ${at} : ne vous y fiez plus.`,
      reason: 'Motif',
    },
    signatureBroken: (code) =>
      `La signature de ce rapport ne se vérifie pas (${code}) : ne vous fiez pas à son contenu.`,
    subjectHeading: 'Fournisseur et verdict',
    sealHeading: 'Sceau',
    signature: 'Signature',
    signatureValid: 'valide (vérifiée à l’instant avec la clé publiée)',
    signatureInvalid: (code) => `ne se vérifie pas (${code})`,
    checkHeading: 'Vérifier votre fichier',
    checkIntro:
      'Choisissez le fichier PDF du rapport : son empreinte SHA-256 est calculée dans votre navigateur et comparée à l’empreinte signée. Le fichier n’est envoyé nulle part.',
    checkLabel: 'Fichier PDF du rapport',
    script: {
      reading: 'Calcul de l’empreinte…',
      match: 'Ce fichier est exactement le rapport scellé.',
      mismatch: 'Ce fichier n’est pas le rapport scellé : il a été modifié, ou c’est un autre document.',
      unsupported:
        'Votre navigateur ne peut pas calculer l’empreinte sur cette page (il faut une connexion HTTPS) : utilisez l’une des commandes ci-dessous.',
      failed: 'Le fichier n’a pas pu être lu.',
    },
    computed: 'Empreinte de votre fichier',
    noscript: 'Ce contrôle dans le navigateur a besoin de JavaScript.',
    commandLine:
      'En ligne de commande, calculez l’empreinte SHA-256 de votre fichier et comparez-la à l’empreinte signée :',
    hashCommands: [
      'sha256sum rapport.pdf  (Linux)',
      'shasum -a 256 rapport.pdf  (macOS)',
      'certutil -hashfile rapport.pdf SHA256  (Windows)',
    ],
    pdfHash: 'Empreinte SHA-256 du PDF signé',
    payloadHeading: 'Contenu signé',
    payloadIntro:
      'Le texte exact qui a été signé (JSON canonique, RFC 8785), et sa signature PS256 (base64url).',
    payload: 'Contenu',
    signatureValue: 'Signature',
    downloadSeal: 'Télécharger le sceau (report.seal.json)',
    offlineHeading: 'Vérifier hors ligne',
    offlineSteps: [
      'Téléchargez le sceau ci-dessus, à côté du fichier PDF.',
      'Vérifiez le PDF avec la clé publique publiée, sans faire confiance à ce site :',
    ],
    json: 'Ces informations existent aussi en JSON : demandez cette adresse avec l’en-tête « Accept: application/json ».',
  },
  en: {
    htmlTitle: 'Report verification · Vigilance',
    heading: 'Verification of a sealed report',
    intro:
      'This page says whether the report bearing this address is still valid, and lets you check that your file is exactly the one that was sealed.',
    otherLang: { code: 'fr', label: 'Français' },
    latestNote: 'You are viewing the newest report of this assessment.',
    valid: { title: 'Valid report', text: 'This report has been neither superseded nor revoked.' },
    superseded: {
      title: 'Superseded report',
      text: (at, verdict) =>
        `A newer report of the same assessment was sealed on ${at} (verdict ${verdict}).`,
      link: 'See the newest report',
    },
    revoked: {
      title: 'Revoked report',
      text: (at) => `This report was revoked on ${at}: do not rely on it any more.`,
      reason: 'Reason',
    },
    signatureBroken: (code) =>
      `This report's signature does not verify (${code}): do not rely on its content.`,
    subjectHeading: 'Supplier and verdict',
    sealHeading: 'Seal',
    signature: 'Signature',
    signatureValid: 'valid (checked just now against the published key)',
    signatureInvalid: (code) => `does not verify (${code})`,
    checkHeading: 'Check your file',
    checkIntro:
      "Choose the report's PDF file: its SHA-256 fingerprint is computed in your browser and compared with the signed one. The file is not sent anywhere.",
    checkLabel: "The report's PDF file",
    script: {
      reading: 'Computing the fingerprint…',
      match: 'This file is exactly the sealed report.',
      mismatch: 'This file is not the sealed report: it was altered, or it is another document.',
      unsupported:
        'Your browser cannot compute the fingerprint on this page (it needs an HTTPS connection): use one of the commands below.',
      failed: 'The file could not be read.',
    },
    computed: "Your file's fingerprint",
    noscript: 'This check in the browser needs JavaScript.',
    commandLine:
      "On the command line, compute your file's SHA-256 fingerprint and compare it with the signed one:",
    hashCommands: [
      'sha256sum report.pdf  (Linux)',
      'shasum -a 256 report.pdf  (macOS)',
      'certutil -hashfile report.pdf SHA256  (Windows)',
    ],
    pdfHash: 'SHA-256 of the signed PDF',
    payloadHeading: 'Signed content',
    payloadIntro:
      'The exact text that was signed (canonical JSON, RFC 8785), and its PS256 signature (base64url).',
    payload: 'Payload',
    signatureValue: 'Signature',
    downloadSeal: 'Download the seal (report.seal.json)',
    offlineHeading: 'Verify offline',
    offlineSteps: [
      'Download the seal above, next to the PDF file.',
      'Verify the PDF against the published public key, with no trust in this site:',
    ],
    json: 'This information is also available as JSON: request this address with the header "Accept: application/json".',
  },
};

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML content and double- or single-quoted attributes. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

const row = (label: string, value: string, attrs = ''): string =>
  `<div class="row"><dt>${escapeHtml(label)}</dt><dd${attrs}>${value}</dd></div>`;

/** The verification page of one report, in one language: everything a third party needs to trust it or not. */
export const renderVerifyPage = (input: VerifyPageInput): string => {
  const { view, lang, latest } = input;
  const t = WORDING[lang];
  const r = REPORT_WORDING[lang];
  const e = escapeHtml;
  const base = `/verify/${encodeURIComponent(input.token)}`;
  const path = latest ? `${base}/latest` : base;
  const none = e(r.none);
  const text = (value: string | null): string => (value === null ? none : e(value));
  const subject = view.subject;
  const jwksUrl = `${input.origin}${JWKS_PATH}`;

  const status = ((): string => {
    const parts: string[] = [];
    if (!view.signature.valid) {
      parts.push(
        `<section class="status status-bad" role="alert"><p>${e(t.signatureBroken(view.signature.code))}</p></section>`,
      );
    }
    switch (view.status) {
      case 'valid':
        parts.push(
          `<section class="status status-${view.signature.valid ? 'ok' : 'bad'}"><h2>${e(t.valid.title)}</h2><p>${e(t.valid.text)}</p></section>`,
        );
        break;
      case 'superseded': {
        const next = view.supersededBy;
        parts.push(
          `<section class="status status-warn"><h2>${e(t.superseded.title)}</h2>` +
            (next === null
              ? ''
              : `<p>${e(t.superseded.text(instantText(next.sealedAt, lang), r.verdictWord[next.verdict]))}</p>`) +
            `<p><a href="${e(`${base}/latest`)}">${e(t.superseded.link)}</a></p></section>`,
        );
        break;
      }
      case 'revoked':
        parts.push(
          `<section class="status status-bad" role="alert"><h2>${e(t.revoked.title)}</h2>` +
            `<p>${e(t.revoked.text(view.revokedAt === null ? r.none : instantText(view.revokedAt, lang)))}</p>` +
            `<p>${e(t.revoked.reason + r.colon)}<span class="reason">${text(view.revocationReason)}</span></p></section>`,
        );
        break;
    }
    return parts.join('\n');
  })();

  const script = t.script;
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${e(t.htmlTitle)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSET_PATHS.style}">
<script src="${ASSET_PATHS.script}" defer></script>
</head>
<body>
<main>
<header>
<p class="brand">Vigilance</p>
<p class="lang"><a href="${e(`${path}?lang=${t.otherLang.code}`)}" hreflang="${t.otherLang.code}" lang="${t.otherLang.code}">${e(t.otherLang.label)}</a></p>
<h1>${e(t.heading)}</h1>
<p>${e(t.intro)}</p>
${latest ? `<p class="note">${e(t.latestNote)}</p>` : ''}
</header>
${status}
<section>
<h2>${e(t.subjectHeading)}</h2>
<p class="verdict verdict-${view.verdict}">${e(r.verdictWord[view.verdict])}</p>
<p>${e(r.verdictMeaning[view.verdict])}</p>
<dl>
${row(r.name, text(subject?.name ?? null))}
${row('SIREN', text(subject?.siren ?? null))}
${row('SIRET', text(subject?.siret ?? null))}
${row(r.vat, text(subject?.vat ?? null))}
${row(r.country, text(subject?.country ?? null))}
${row(r.verdict, e(`${r.verdictWord[view.verdict]} (${view.verdict})`))}
${row(r.policyVersion, text(view.policyVersion))}
</dl>
</section>
<section>
<h2>${e(t.sealHeading)}</h2>
<dl>
${row(r.reportId, `<code>${e(view.reportId)}</code>`)}
${row(r.assessmentId, `<code>${e(view.assessmentId)}</code>`)}
${row(r.sealedAt, e(instantText(view.sealedAt, lang)))}
${row(r.keyId, `<code>${e(view.kid)}</code>`)}
${row(r.algorithm, e(view.alg))}
${row(
  t.signature,
  e(view.signature.valid ? t.signatureValid : t.signatureInvalid(view.signature.code)),
  ` class="signature-${view.signature.valid ? 'valid' : 'invalid'}"`,
)}
${row(t.pdfHash, `<code id="signed-sha256">${e(view.pdfSha256)}</code>`)}
</dl>
</section>
<section>
<h2>${e(t.checkHeading)}</h2>
<p>${e(t.checkIntro)}</p>
<form id="file-check" data-expected-sha256="${e(view.pdfSha256)}" data-msg-reading="${e(script.reading)}" data-msg-match="${e(script.match)}" data-msg-mismatch="${e(script.mismatch)}" data-msg-unsupported="${e(script.unsupported)}" data-msg-failed="${e(script.failed)}">
<label for="file-check-input">${e(t.checkLabel)}</label>
<input type="file" id="file-check-input" accept="application/pdf,.pdf">
<output for="file-check-input" id="file-check-result" aria-live="polite"></output>
<p class="computed" hidden>${e(t.computed + r.colon)}<code id="file-check-sha256"></code></p>
</form>
<noscript><p>${e(t.noscript)}</p></noscript>
<p>${e(t.commandLine)}</p>
<pre class="commands">${t.hashCommands.map(e).join('\n')}</pre>
</section>
<section>
<h2>${e(t.payloadHeading)}</h2>
<p>${e(t.payloadIntro)}</p>
<h3>${e(t.payload)}</h3>
<pre class="wrap" id="seal-payload">${e(view.seal.payload)}</pre>
<h3>${e(t.signatureValue)}</h3>
<pre class="wrap" id="seal-signature">${e(view.seal.signature)}</pre>
<p><a href="${e(`${path}/seal.json`)}" download="report.seal.json">${e(t.downloadSeal)}</a></p>
</section>
<section>
<h2>${e(t.offlineHeading)}</h2>
<ol>
${t.offlineSteps.map((step) => `<li>${e(step)}</li>`).join('\n')}
</ol>
<pre class="wrap">${e(`vigilance verify report.pdf --seal report.seal.json --jwks ${jwksUrl}`)}</pre>
<p class="note">${e(t.json)}</p>
</section>
</main>
</body>
</html>
`;
};
