import type { FastifyReply, FastifyRequest } from 'fastify';
import { localeOf, withCommonHeaders } from './pipeline.ts';
import {
  PROBLEM_CONTENT_TYPE,
  PROBLEMS,
  problemBody,
  useCaseProblem,
  type Problem,
  type ProblemCode,
} from './problems.ts';

export const NO_STORE = 'no-store';

const finishProblem = (request: FastifyRequest, reply: FastifyReply, status: number): FastifyReply => {
  withCommonHeaders(reply, request.id);
  return reply
    .code(status)
    .header('cache-control', NO_STORE)
    .header('content-language', localeOf(request))
    .type(PROBLEM_CONTENT_TYPE);
};

/** Answers with a fixed problem, in the request's language, never cached. */
export const sendProblem = (request: FastifyRequest, reply: FastifyReply, code: ProblemCode): FastifyReply =>
  finishProblem(request, reply, PROBLEMS[code].status).send(problemBody(code, localeOf(request)));

/** Answers with a problem built for this request (a use case's failure, validation details). */
export const sendProblemObject = (
  request: FastifyRequest,
  reply: FastifyReply,
  problem: Problem,
): FastifyReply => finishProblem(request, reply, problem.status).send(JSON.stringify(problem));

/** Answers with a use case's expected failure. */
export const sendUseCaseError = (
  request: FastifyRequest,
  reply: FastifyReply,
  error: { readonly code: string; readonly message: string },
): FastifyReply => sendProblemObject(request, reply, useCaseProblem(error, localeOf(request)));
