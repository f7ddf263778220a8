import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { StoredAssessment } from '#app/application/ports/assessment-store.ts';
import type { StoredReport } from '#app/application/ports/report-store.ts';
import { actorIdOf, type Principal } from '#app/application/use-cases/access.ts';
import type { AccountAccess } from '#app/domain/tenancy.ts';
import { authorize, definedOnly, isUuid, originOf, type ApiDeps } from './api-context.ts';
import { problemError } from './problems.ts';
import { NO_STORE, sendProblem, sendUseCaseError } from './replies.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The JSON of an assessment, as every route returns it. */
export const assessmentView = (stored: StoredAssessment) => ({
  id: stored.id,
  accountId: stored.accountId,
  actorId: stored.actorId,
  agentAccountId: stored.agentAccountId,
  version: stored.version,
  state: stored.state,
  createdAt: stored.createdAt,
  verdict: stored.assessment.verdict,
  policyVersion: stored.assessment.policyVersion,
  assessedAt: stored.assessment.assessedAt,
  subject: stored.assessment.subject,
  signals: stored.assessment.signals,
  sources: stored.assessment.sources,
  correlationId: stored.correlationId,
});

export const reportView = (report: StoredReport) => ({
  id: report.id,
  accountId: report.accountId,
  assessmentId: report.assessmentId,
  assessmentVersion: report.assessmentVersion,
  verdict: report.verdict,
  lang: report.lang,
  sealedAt: report.sealedAt,
  pdfSha256: report.pdfSha256,
  kid: report.seal.kid,
  supersededBy: report.supersededBy,
  revokedAt: report.revokedAt,
  revocationReason: report.revocationReason,
  downloadUrl: `/api/v1/reports/${report.id}/download`,
});

const tags = { assessments: ['Assessments'], reports: ['Reports'], suppliers: ['Suppliers'] };

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 } },
  required: ['id'],
} as const;

const VERDICT = { type: 'string', enum: ['GREEN', 'RED', 'GREY'] } as const;
const STATE = { type: 'string', enum: ['COMPLETE', 'AWAITING_SOURCES'] } as const;
const DATE_TIME = { type: 'string', format: 'date-time' } as const;

const assessmentSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    version: { type: 'integer' },
    state: STATE,
    verdict: VERDICT,
    createdAt: { type: 'string' },
  },
} as const;

const reportSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    assessmentId: { type: 'string' },
    verdict: VERDICT,
    sealedAt: { type: 'string' },
    pdfSha256: { type: 'string' },
  },
} as const;

interface Cursor {
  readonly createdAt: string;
  readonly id: string;
}

const encodeCursor = (cursor: Cursor): string => Buffer.from(JSON.stringify(cursor)).toString('base64url');

const decodeCursor = (text: string): Cursor | null => {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) return null;
    const { createdAt, id } = value as Record<string, unknown>;
    return typeof createdAt === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(createdAt))
      ? { createdAt, id }
      : null;
  } catch {
    return null;
  }
};

/**
 * "Requested by X on behalf of Y": printed on a report made by an agent's member for a client account, so the
 * client's report says who asked for it.
 */
const requestedByOf = async (
  deps: ApiDeps,
  principal: Principal,
  access: AccountAccess,
  lang: 'fr' | 'en',
): Promise<string | null> => {
  if (access.via !== 'agent' || access.agentAccountId === null || principal.kind !== 'user') return null;
  const [user, agent, client] = await Promise.all([
    deps.resources.user(principal.userId),
    deps.resources.account(access.agentAccountId),
    deps.resources.account(access.accountId),
  ]);
  const who = user === null ? principal.userId : (user.displayName ?? user.email);
  const onBehalfOf = lang === 'fr' ? 'pour le compte de' : 'on behalf of';
  return `${who} (${agent?.name ?? access.agentAccountId}), ${onBehalfOf} ${client?.name ?? access.accountId}`;
};

const requestLang = (request: FastifyRequest, asked: 'fr' | 'en' | undefined): 'fr' | 'en' =>
  asked ?? request.locale;

/** Assessments, sealed reports and the suppliers' bitemporal state, in the caller's account. */
export const registerResourceRoutes = (app: FastifyInstance, deps: ApiDeps): void => {
  const write = { rateClass: 'api-write' };

  app.post<{ Body: { identifier: string; vat?: string }; Headers: { 'idempotency-key'?: string } }>(
    '/api/v1/assessments',
    {
      config: write,
      schema: {
        tags: tags.assessments,
        summary: 'Assesses a supplier (SIREN, SIRET or VAT number) against SIRENE, BODACC and VIES',
        description:
          'With an Idempotency-Key header, the same request replays the stored answer (200, Idempotent-Replayed: true) ' +
          'and a different request with the same key is 422 IDEMPOTENCY_KEY_REUSED.',
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', maxLength: 255 } },
        },
        body: {
          type: 'object',
          properties: {
            identifier: { type: 'string', minLength: 1, maxLength: 64 },
            vat: { type: 'string', minLength: 1, maxLength: 32 },
          },
          required: ['identifier'],
          additionalProperties: false,
        },
        response: { 200: assessmentSchema, 201: assessmentSchema },
      },
    },
    async (request, reply) => {
      const { principal, access } = await authorize(deps, request, 'assess');
      const key = request.headers['idempotency-key'];
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
        return sendUseCaseError(request, reply, {
          code: 'IDEMPOTENCY_KEY_INVALID',
          message: 'Idempotency-Key must be 1 to 255 printable ASCII characters.',
        });
      }
      const outcome = await deps.assessSupplier({
        identifier: request.body.identifier,
        ...(request.body.vat === undefined ? {} : { vat: request.body.vat }),
        correlationId: request.id,
        accountId: access.accountId,
        actorId: actorIdOf(principal),
        agentAccountId: access.via === 'agent' ? access.agentAccountId : null,
        ...(key === undefined ? {} : { idempotencyKey: key }),
        origin: originOf(request),
      });
      if (!outcome.ok) return sendUseCaseError(request, reply, outcome.error);
      const stored = await deps.resources.assessment(access.accountId, outcome.value.assessmentId);
      if (stored === null) throw problemError('NOT_FOUND');
      reply.header('cache-control', NO_STORE).header('location', `/api/v1/assessments/${stored.id}`);
      if (outcome.value.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(outcome.value.replayed ? 200 : 201).send(assessmentView(stored));
    },
  );

  app.get<{
    Querystring: {
      verdict?: 'GREEN' | 'RED' | 'GREY';
      state?: 'COMPLETE' | 'AWAITING_SOURCES';
      identifier?: string;
      from?: string;
      to?: string;
      limit?: number;
      cursor?: string;
    };
  }>(
    '/api/v1/assessments',
    {
      schema: {
        tags: tags.assessments,
        summary: "The account's assessments, newest first, filtered and paged",
        querystring: {
          type: 'object',
          properties: {
            verdict: VERDICT,
            state: STATE,
            identifier: { type: 'string', maxLength: 64 },
            from: DATE_TIME,
            to: DATE_TIME,
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            cursor: { type: 'string', maxLength: 512 },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: assessmentSchema },
              nextCursor: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { access } = await authorize(deps, request, 'read');
      const { cursor, limit = 50, ...filters } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      if (after === null) throw problemError('VALIDATION_FAILED');
      const listed = await deps.resources.assessments({
        accountId: access.accountId,
        limit,
        ...(after === undefined ? {} : { after }),
        ...definedOnly(filters),
      });
      if (!listed.ok) return sendUseCaseError(request, reply, listed.error);
      const items = listed.value;
      const last = items.at(-1);
      return reply.header('cache-control', NO_STORE).send({
        items: items.map(assessmentView),
        nextCursor:
          items.length === limit && last !== undefined
            ? encodeCursor({ createdAt: last.createdAt, id: last.id })
            : null,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/assessments/:id',
    {
      schema: {
        tags: tags.assessments,
        summary: 'One assessment',
        params: idParams,
        response: { 200: assessmentSchema },
      },
    },
    async (request, reply) => {
      const { access } = await authorize(deps, request, 'read');
      const stored = isUuid(request.params.id)
        ? await deps.resources.assessment(access.accountId, request.params.id)
        : null;
      if (stored === null) return sendProblem(request, reply, 'NOT_FOUND');
      return reply.header('cache-control', NO_STORE).send(assessmentView(stored));
    },
  );

  app.post<{ Params: { id: string }; Body: { lang?: 'fr' | 'en' } | undefined }>(
    '/api/v1/assessments/:id/seal',
    {
      config: write,
      schema: {
        tags: tags.reports,
        summary: "Seals the assessment's current version as a signed PDF report (idempotent per version)",
        params: idParams,
        body: {
          type: 'object',
          properties: { lang: { type: 'string', enum: ['fr', 'en'] } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { principal, access } = await authorize(deps, request, 'seal');
      if (!isUuid(request.params.id)) return sendProblem(request, reply, 'NOT_FOUND');
      const lang = requestLang(request, request.body?.lang);
      const sealed = await deps.sealReport({
        accountId: access.accountId,
        actorId: actorIdOf(principal),
        assessmentId: request.params.id,
        lang,
        correlationId: request.id,
        requestedBy: await requestedByOf(deps, principal, access, lang),
        origin: originOf(request),
      });
      if (!sealed.ok) return sendUseCaseError(request, reply, sealed.error);
      return reply
        .code(sealed.value.replayed ? 200 : 201)
        .header('cache-control', NO_STORE)
        .header('location', `/api/v1/reports/${sealed.value.report.id}`)
        .send({
          report: reportView(sealed.value.report),
          verificationUrl: sealed.value.verificationUrl,
          seal: sealed.value.seal,
          replayed: sealed.value.replayed,
        });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/reports/:id',
    {
      schema: {
        tags: tags.reports,
        summary: "A report's metadata",
        params: idParams,
        response: { 200: reportSchema },
      },
    },
    async (request, reply) => {
      const { access } = await authorize(deps, request, 'read');
      const report = isUuid(request.params.id)
        ? await deps.resources.report(access.accountId, request.params.id)
        : null;
      if (report === null) return sendProblem(request, reply, 'NOT_FOUND');
      return reply.header('cache-control', NO_STORE).send(reportView(report));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/reports/:id/download',
    {
      schema: {
        tags: tags.reports,
        summary: "A 15-minute download link of the report's PDF",
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: { url: { type: 'string' }, expiresAt: { type: 'string' } },
            required: ['url', 'expiresAt'],
          },
        },
      },
    },
    async (request, reply) => {
      const { access } = await authorize(deps, request, 'read');
      const download = isUuid(request.params.id)
        ? await deps.resources.reportDownload(access.accountId, request.params.id)
        : null;
      if (download === null) return sendProblem(request, reply, 'NOT_FOUND');
      return reply
        .header('cache-control', NO_STORE)
        .send({ url: download.url, expiresAt: download.expiresAt });
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/api/v1/reports/:id/revoke',
    {
      config: write,
      schema: {
        tags: tags.reports,
        summary: 'Revokes a report (its public page then says revoked, with the reason)',
        params: idParams,
        body: {
          type: 'object',
          properties: { reason: { type: 'string', maxLength: 1000 } },
          required: ['reason'],
          additionalProperties: false,
        },
        response: { 200: reportSchema },
      },
    },
    async (request, reply) => {
      const { principal, access } = await authorize(deps, request, 'revoke_report');
      if (!isUuid(request.params.id)) return sendProblem(request, reply, 'NOT_FOUND');
      const revoked = await deps.revokeReport({
        accountId: access.accountId,
        actorId: actorIdOf(principal),
        reportId: request.params.id,
        reason: request.body.reason,
        correlationId: request.id,
        origin: originOf(request),
      });
      if (!revoked.ok) return sendUseCaseError(request, reply, revoked.error);
      return reply.header('cache-control', NO_STORE).send(reportView(revoked.value));
    },
  );

  app.get<{ Params: { identifier: string }; Querystring: { validAt?: string; knownAt?: string } }>(
    '/api/v1/suppliers/:identifier/state',
    {
      schema: {
        tags: tags.suppliers,
        summary:
          'What the registries said was true of a supplier the account has assessed, at a legal date, as known at a given time',
        params: {
          type: 'object',
          properties: { identifier: { type: 'string', maxLength: 64 } },
          required: ['identifier'],
        },
        querystring: {
          type: 'object',
          properties: {
            validAt: { type: 'string', maxLength: 40 },
            knownAt: { type: 'string', maxLength: 40 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { access } = await authorize(deps, request, 'read');
      // The registries' answers are public and shared, but when they were asked says who was looking: an account
      // sees the state of the suppliers it has assessed, and nothing of the others.
      const assessed = await deps.resources.assessments({
        accountId: access.accountId,
        identifier: request.params.identifier,
        limit: 1,
      });
      if (!assessed.ok) return sendUseCaseError(request, reply, assessed.error);
      if (assessed.value.length === 0) return sendProblem(request, reply, 'NOT_FOUND');
      const state = await deps.getSupplierState({
        identifier: request.params.identifier,
        ...(request.query.validAt === undefined ? {} : { validAt: request.query.validAt }),
        ...(request.query.knownAt === undefined ? {} : { knownAt: request.query.knownAt }),
      });
      if (!state.ok) return sendUseCaseError(request, reply, state.error);
      return reply.header('cache-control', NO_STORE).send(state.value);
    },
  );

  const serveFile = deps.serveFile;
  if (serveFile !== undefined) {
    app.get<{ Params: { '*': string }; Querystring: { expires?: string; sig?: string } }>(
      '/files/*',
      {
        config: { rateClass: 'pages' },
        schema: {
          tags: tags.reports,
          summary: 'A report PDF by its signed download link (filesystem storage)',
          querystring: {
            type: 'object',
            properties: {
              expires: { type: 'string', maxLength: 20 },
              sig: { type: 'string', maxLength: 100 },
            },
          },
        },
      },
      async (request, reply) => {
        const { expires, sig } = request.query;
        const bytes =
          expires === undefined || sig === undefined
            ? null
            : await serveFile(request.params['*'], expires, sig);
        if (bytes === null) return sendProblem(request, reply, 'NOT_FOUND');
        return reply
          .header('cache-control', 'private, no-store')
          .header('content-disposition', 'attachment; filename="report.pdf"')
          .type('application/pdf')
          .send(Buffer.from(bytes));
      },
    );
  }
};
