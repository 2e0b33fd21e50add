import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import {
  httpOutcome,
  type ChallengeStyle,
  type DecisionPoint,
  type Logger,
  type TokenVerifier,
} from '@stepgate/agent-core';
import type { Cidr } from '@stepgate/policy';
import {
  errorBody,
  errorStatus,
  internalError,
  StepgateError,
  type ErrorBody,
} from '@stepgate/protocol';
import { evaluateBatch, parseEvaluation, parseEvaluations, toAuthzenDecision } from './authzen.js';
import { AUTHZEN_METADATA_PATH, authzenMetadata, pdpBaseUrl } from './authzen-metadata.js';
import { search, SEARCH_PATHS, type SearchKind } from './authzen-search.js';
import { AUTHZ_HTTP_PATH, identityOf, proxiedRequest } from './authz-http.js';
import {
  evidenceForPrincipal,
  InvalidTokenError,
  invalidTokenChallenge,
  verifiedCaller,
} from './bearer.js';
import { parseDecisionInput } from './decision-input.js';
import { docsRoutes } from './docs-routes.js';
import { k8sRoutes } from './k8s-routes.js';
import type { AgentMetrics } from './metrics.js';
import { readBody, readJsonRequest } from './request-body.js';

/** Request bodies above this are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpServerOptions {
  point: DecisionPoint;
  /** Undefined until prom-client is loaded (just after the server starts listening). */
  metrics: () => AgentMetrics | undefined;
  logger: Logger;
  /** The default challenge style (a token's issuer setting wins). */
  challenge: ChallengeStyle;
  /** Verifies `Authorization: Bearer` tokens; without one every bearer token is refused. */
  tokens?: TokenVerifier;
  /**
   * Peers whose forwarding headers (X-Forwarded-For, Forwarded, X-Real-IP) are believed for
   * `context.ip` (STEPGATE_TRUSTED_PROXIES); default none: the TCP peer is the client.
   */
  trustedProxies?: readonly Cidr[];
  /**
   * Creates an HTTPS server (node:https, with the certificate) around the request listener; the
   * caller loads node:https only when it needs it. Undefined: plain HTTP.
   */
  https?: (listener: RequestListener) => Server;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Every exact-path route of the agent, by path and method; the OpenAPI document must list each
 * (openapi-document.spec.ts). `/v1/authz/http/...` is a prefix route, served in `handle`.
 */
export function routeTable(options: HttpServerOptions): Record<string, Record<string, Handler>> {
  const { point, metrics, tokens } = options;
  const levels = () => point.levels;
  const searchRoute = (kind: SearchKind): Record<string, Handler> => ({
    POST: async (req, res) => {
      const body = await readJsonRequest(req, MAX_BODY_BYTES);
      sendJson(res, 200, search(kind, body, point, await verifiedCaller(req, tokens)));
    },
  });

  return {
    '/v1/decide': {
      POST: async (req, res) => {
        const input = parseDecisionInput(await readJsonRequest(req, MAX_BODY_BYTES));
        const caller = await verifiedCaller(req, tokens);
        sendJson(res, 200, point.decide(input, evidenceForPrincipal(caller, input.principal.id)));
      },
    },
    '/access/v1/evaluation': {
      POST: async (req, res) => {
        const input = parseEvaluation(await readJsonRequest(req, MAX_BODY_BYTES));
        const evidence = evidenceForPrincipal(
          await verifiedCaller(req, tokens),
          input.principal.id,
        );
        sendJson(res, 200, toAuthzenDecision(point.decide(input, evidence), point.levels));
      },
    },
    '/access/v1/evaluations': {
      POST: async (req, res) => {
        const batch = parseEvaluations(await readJsonRequest(req, MAX_BODY_BYTES));
        const caller = await verifiedCaller(req, tokens);
        // Every item must be the token's principal: checked before any is decided.
        for (const item of batch.items)
          if (!(item instanceof Error)) evidenceForPrincipal(caller, item.principal.id);
        const results = evaluateBatch(
          batch,
          (input) => point.decide(input, caller?.evidence),
          levels,
        );
        const body = batch.single ? results[0] : { evaluations: results };
        sendJson(res, 200, body);
      },
    },
    [SEARCH_PATHS.subject]: searchRoute('subject'),
    [SEARCH_PATHS.resource]: searchRoute('resource'),
    [SEARCH_PATHS.action]: searchRoute('action'),
    [AUTHZEN_METADATA_PATH]: {
      GET: async (req, res) =>
        sendJson(res, 200, authzenMetadata(pdpBaseUrl(req, options.trustedProxies))),
    },
    ...k8sRoutes(point),
    '/healthz': {
      GET: async (_req, res) => sendJson(res, 200, { status: 'ok' }),
    },
    '/readyz': {
      GET: async (_req, res) => {
        const status = point.status();
        sendJson(res, status.ready ? 200 : 503, {
          status: status.ready ? 'ready' : 'not_ready',
          ...status,
        });
      },
    },
    '/metrics': {
      GET: async (_req, res) => {
        const registry = metrics()?.registry;
        if (registry === undefined) {
          sendError(res, new StepgateError('service/unavailable', 'metrics are not ready yet'));
          return;
        }
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
    },
    ...docsRoutes(),
  };
}

/**
 * The agent's HTTP API on plain node:http (node:https when given a certificate): decision APIs
 * (native, AuthZEN, reverse-proxy check), health, readiness, metrics and the API reference. Every failure is a JSON 4xx/5xx;
 * nothing a client sends can take the process down.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  const { point, logger, tokens } = options;
  const table = routeTable(options);

  // A Map, so a path like /__proto__ can never reach an inherited property.
  const routes = new Map(
    Object.entries(table).map(([path, handlers]) => [path, new Map(Object.entries(handlers))]),
  );

  const authzHttp: Handler = async (req, res, pathname, query) => {
    // The body of the proxied request is not part of the decision; read it to keep the
    // connection usable, within the same limit.
    await readBody(req, MAX_BODY_BYTES);
    const caller = identityOf(await verifiedCaller(req, tokens));
    const outcome = httpOutcome(
      point.decide(
        proxiedRequest(req, pathname, query, caller, options.trustedProxies),
        caller.evidence,
      ),
      point.levels,
      caller.challenge ?? options.challenge,
    );
    if (outcome.status === 200) {
      outcome.headers['x-stepgate-principal'] = headerSafe(caller.principal.id);
      res.writeHead(200, outcome.headers);
      res.end();
      return;
    }
    sendJson(res, outcome.status, outcome.body, outcome.headers, req.method === 'HEAD');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const cut = url.indexOf('?');
    const pathname = cut >= 0 ? url.slice(0, cut) : url;
    const query = cut >= 0 ? url.slice(cut) : '';
    // AuthZEN: a PDP echoes the PEP's X-Request-ID on every answer, errors included.
    if (pathname.startsWith('/access/') || pathname === AUTHZEN_METADATA_PATH)
      echoRequestId(req, res);
    if (pathname === AUTHZ_HTTP_PATH || pathname.startsWith(`${AUTHZ_HTTP_PATH}/`)) {
      await authzHttp(req, res, pathname, query);
      return;
    }
    const handlers = routes.get(pathname);
    if (handlers === undefined) {
      sendError(
        res,
        new StepgateError('route/not_found', `no route ${req.method ?? ''} ${pathname}`),
      );
      return;
    }
    const handler = handlers.get(req.method ?? '');
    if (handler === undefined) {
      const allowed = [...handlers.keys()].join(', ');
      res.setHeader('allow', allowed);
      sendError(
        res,
        new StepgateError('request/invalid', `${pathname} accepts ${allowed}`, undefined, {
          status: 405,
        }),
      );
      return;
    }
    await handler(req, res, pathname, query);
  };

  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof InvalidTokenError) {
        res.setHeader('www-authenticate', invalidTokenChallenge(error.message));
        sendError(res, new StepgateError('auth/invalid_token', error.message));
      } else if (error instanceof StepgateError) {
        sendError(res, error);
      } else {
        const errorId = randomUUID();
        logger.error(
          {
            errorId,
            method: req.method,
            url: req.url,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          },
          'request failed',
        );
        sendError(res, internalError(errorId));
      }
    });
  };
  const server: Server =
    options.https === undefined ? createServer(listener) : options.https(listener);
  // Longer than the usual 60 s idle timeout of proxies, so they close first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || socket.writableEnded) {
      socket.destroy();
      return;
    }
    // What the HTTP parser refused, said as the rest of the API says it (431 as node's default).
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const text = JSON.stringify(
      errorBody(
        new StepgateError(
          'request/invalid',
          tooLarge ? 'the request headers are too large' : 'the request is not valid HTTP/1.1',
        ),
      ),
    );
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `connection: close\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  });
  return server;
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  query: string,
) => Promise<void>;

function echoRequestId(req: IncomingMessage, res: ServerResponse): void {
  const id = req.headers['x-request-id'];
  if (typeof id === 'string' && id !== '') res.setHeader('x-request-id', headerSafe(id));
}

function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  headOnly = false,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(text),
  });
  res.end(headOnly ? undefined : text);
}

/** Every error answer: the protocol's status and `{error, message, details?}`. */
function sendError(res: ServerResponse, error: StepgateError): void {
  const status = errorStatus(error);
  // A refused body may still be arriving: close the connection rather than read it.
  if (status === 413) res.setHeader('connection', 'close');
  const body: ErrorBody = errorBody(error);
  sendJson(res, status, body);
}
