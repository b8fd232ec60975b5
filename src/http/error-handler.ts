/**
 * One place turns every failure into API.md's error envelope. Expected refusals arrive as
 * AppError; Fastify's own errors (validation, parsing, limits) are mapped to registered codes;
 * anything else is a bug: logged in full, answered with INTERNAL_ERROR.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, errorBody, type ErrorCode } from '../platform/index.js';

interface ValidationIssue {
  instancePath?: string;
  params?: Record<string, unknown>;
  message?: string;
}

function validationCode(issues: ValidationIssue[]): ErrorCode {
  return issues.some((issue) => /(^|\/)(amount|[a-z_]*_amount)$/.test(issue.instancePath ?? '')) ? 'INVALID_AMOUNT' : 'INVALID_REQUEST';
}

function describe(issues: ValidationIssue[], context: string): Array<{ path: string; message: string }> {
  return issues.slice(0, 10).map((issue) => {
    const extra = issue.params?.additionalProperty ? ` (${String(issue.params.additionalProperty)})` : '';
    return { path: `${context}${issue.instancePath ?? ''}`, message: `${issue.message ?? 'invalid'}${extra}` };
  });
}

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
};

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      if (error.headers) void reply.headers(error.headers);
      return reply.code(error.status).send(errorBody(error.code, error.message, error.details));
    }
    if (error.validation) {
      const issues = error.validation as ValidationIssue[];
      const code = validationCode(issues);
      return reply.code(400).send(errorBody(code, undefined, { errors: describe(issues, error.validationContext ?? 'body') }));
    }
    const mapped = error.code ? fastifyCodes[error.code] : undefined;
    if (mapped) return reply.code(mapped === 'UNSUPPORTED_MEDIA_TYPE' ? 415 : 400).send(errorBody(mapped));
    if (error instanceof SyntaxError) return reply.code(400).send(errorBody('MALFORMED_JSON'));
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(errorBody('INTERNAL_ERROR'));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody('NOT_FOUND')));
}
