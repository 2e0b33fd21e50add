import {
  Catch,
  HttpException,
  Inject,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import {
  errorBody,
  errorStatus,
  internalError,
  StepgateError,
  type ErrorBody,
  type ErrorCode,
} from '@stepgate/protocol';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logger.js';
import { isDatabaseUnavailable, isInvalidText } from './database-errors.js';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'request/invalid',
  401: 'auth/unauthenticated',
  403: 'auth/forbidden',
  404: 'route/not_found',
  413: 'request/invalid',
  415: 'request/invalid',
  503: 'service/unavailable',
};

/**
 * The one place errors become HTTP: domain codes map to statuses, framework errors keep
 * theirs, and anything unexpected is a 500 with an id to find in the log — never a stack
 * trace or an internal message in the response.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    if (response.headersSent) return;
    const { status, body } = this.toResponse(exception);
    if (status === 401 && !response.hasHeader('www-authenticate'))
      response.setHeader('www-authenticate', bearerChallenge(body, http.getRequest<Request>()));
    response.status(status).json(body);
  }

  private toResponse(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof StepgateError)
      return { status: errorStatus(exception), body: errorBody(exception) };
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const message =
        status === 404 ? 'no such route' : (bodyParserMessage(exception) ?? exception.message);
      return {
        status,
        body: {
          error: CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'request/invalid'),
          message,
        },
      };
    }
    if (isBodyParserError(exception)) {
      return {
        status: exception.status,
        body: {
          error: 'request/invalid',
          message:
            tooLargeMessage(exception) ?? `request body is not valid JSON: ${exception.message}`,
        },
      };
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        status: 503,
        body: {
          error: 'service/unavailable',
          message: 'the database is unavailable; try again shortly',
        },
      };
    }
    if (isInvalidText(exception)) {
      return {
        status: 400,
        body: {
          error: 'request/invalid',
          message:
            'the request contains text the database cannot store (a NUL character, \\u0000): remove it and retry',
        },
      };
    }
    const errorId = crypto.randomUUID();
    this.logger.error({ err: exception, errorId }, 'unhandled error');
    const internal = internalError(errorId);
    return { status: errorStatus(internal), body: errorBody(internal) };
  }
}

/**
 * The `WWW-Authenticate` every 401 must carry (RFC 9110 11.6.1), as RFC 6750 says for bearer
 * tokens: no error code when no token was sent, `invalid_token` when one was sent and refused,
 * `insufficient_user_authentication` (RFC 9470) when the token is fine but the action needs a
 * step-up first (with `max_age` when the policy asks for a recent authentication).
 */
export function bearerChallenge(body: ErrorBody, request: Pick<Request, 'headers'>): string {
  const parts = ['realm="stepgate"'];
  const sentToken = /^Bearer\s+\S/i.test(request.headers.authorization ?? '');
  if (body.error === 'auth/unauthenticated' && sentToken) parts.push('error="invalid_token"');
  if (body.error === 'auth/step_up_required') {
    parts.push('error="insufficient_user_authentication"');
    const maxAge = (body.details as { require?: { maxAge?: unknown } } | undefined)?.require
      ?.maxAge;
    if (typeof maxAge === 'number' && Number.isInteger(maxAge) && maxAge >= 0)
      parts.push(`max_age=${maxAge}`);
  }
  if (parts.length > 1) parts.push(`error_description="${quotable(body.message)}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** A quoted-string's content: printable ASCII without `"` or `\`, bounded. */
function quotable(text: string): string {
  const plain = text.replace(/[^\x20-\x7e]|["\\]/g, "'");
  return plain.length > 200 ? `${plain.slice(0, 197)}...` : plain;
}

function isBodyParserError(
  error: unknown,
): error is { status: number; message: string; type: string; limit?: number } {
  const e = error as { type?: unknown; status?: unknown };
  return (
    typeof e?.type === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 500
  );
}

function bodyParserMessage(exception: HttpException): string | undefined {
  const cause = exception.cause as { type?: string; message?: string; limit?: number } | undefined;
  if (cause?.type === 'entity.too.large') return tooLargeMessage(cause);
  return cause?.type === 'entity.parse.failed'
    ? `request body is not valid JSON: ${cause.message}`
    : undefined;
}

/** A body past the parser's limit: say so (not "not valid JSON"), with the limit. */
function tooLargeMessage(error: { type?: string; limit?: number }): string | undefined {
  if (error.type !== 'entity.too.large') return undefined;
  const limit = typeof error.limit === 'number' ? `${error.limit} bytes` : 'the limit';
  return `request body is larger than the limit (${limit}): send less`;
}
