import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './api-context.ts';
import type { Lang } from './problems.ts';
import { NO_STORE } from './replies.ts';
import { ASSET_PATHS, escapeHtml } from './verify-page.ts';

const TEXT = {
  fr: {
    title: 'Vigilance',
    intro: 'Vérification des fournisseurs auprès de SIRENE, du BODACC et de VIES, avec rapports scellés.',
    loggedIn: 'Connecté en tant que',
    logIn: 'Se connecter avec',
    links: "Documentation de l'API",
    me: 'Mon compte (JSON)',
    assessments: 'Mes évaluations (JSON)',
  },
  en: {
    title: 'Vigilance',
    intro: 'Supplier checks against SIRENE, BODACC and VIES, with sealed reports.',
    loggedIn: 'Logged in as',
    logIn: 'Log in with',
    links: 'API documentation',
    me: 'My account (JSON)',
    assessments: 'My assessments (JSON)',
  },
} as const;

const page = (lang: Lang, body: string): string => `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigilance</title>
<link rel="stylesheet" href="${ASSET_PATHS.style}">
</head>
<body>
<main>
<h1>${TEXT[lang].title}</h1>
<p>${TEXT[lang].intro}</p>
${body}
<p><a href="/docs">${TEXT[lang].links}</a></p>
</main>
</body>
</html>
`;

/**
 * `GET /`: where a login lands until the web front end exists. Who is logged in and links to the API, or the
 * providers to log in with. No script: the page is static HTML under the strict policy.
 */
export const registerHomePage = (app: FastifyInstance, deps: ApiDeps): void => {
  app.get('/', { config: { rateClass: 'pages' }, schema: { hide: true } }, async (request, reply) => {
    const t = TEXT[request.locale];
    const userId = request.session?.data.userId ?? null;
    const user = userId === null ? null : await deps.resources.user(userId);
    const body =
      user === null
        ? `<ul>${deps.identityProviders
            .providers()
            .map(
              (p) =>
                `<li><a href="/auth/login/${escapeHtml(p.id)}">${t.logIn} ${escapeHtml(p.name)}</a></li>`,
            )
            .join('')}</ul>`
        : `<p>${t.loggedIn} <strong>${escapeHtml(user.displayName ?? user.email)}</strong> (${escapeHtml(user.email)})</p>
<ul><li><a href="/api/v1/me">${t.me}</a></li><li><a href="/api/v1/assessments">${t.assessments}</a></li></ul>`;
    return reply
      .header('cache-control', NO_STORE)
      .header('content-language', request.locale)
      .type('text/html; charset=utf-8')
      .send(page(request.locale, body));
  });
};
