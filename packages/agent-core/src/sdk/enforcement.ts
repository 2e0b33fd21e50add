import type { AuthEvidence, DecisionRequest, Level } from '@stepgate/policy';
import { StepgateError, errorBody } from '@stepgate/protocol';
import type { ChallengeStyle } from '../challenge.js';
import type { AgentDecision } from '../decision-record.js';
import { ANONYMOUS, httpDecisionRequest, httpOutcome, type HttpOutcome } from '../http-mapping.js';

/**
 * The parts of Express / Fastify / Node request and response objects the SDK uses. Local,
 * minimal interfaces: agent-core imports neither Express nor NestJS.
 */
export interface HttpRequestLike {
  method?: string;
  originalUrl?: string;
  url?: string;
  headers?: Record<string, string | string[] | undefined>;
  ip?: string;
  /** Set by an authentication middleware (Passport convention). */
  user?: unknown;
}

export interface HttpResponseLike {
  headersSent?: boolean;
  locals?: Record<string, unknown>;
  statusCode?: number;
  // Express: status()/setHeader()/json(); Fastify: code()/header()/send(); Node: setHeader()/end().
  status?(code: number): unknown;
  code?(code: number): unknown;
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
  json?(body: unknown): unknown;
  send?(body: unknown): unknown;
  end?(body?: string): unknown;
}

/** What the SDK needs from a decision point. */
export interface DecisionPointLike {
  decide(request: DecisionRequest, evidence?: AuthEvidence): AgentDecision;
  readonly levels: readonly Level[];
}

export interface EnforcementOptions<Req extends HttpRequestLike = HttpRequestLike> {
  /** Builds the decision input; defaults to `http:<METHOD>` on the request path, principal from `req.user`. */
  mapRequest?: (req: Req) => DecisionRequest;
  /**
   * Authentication evidence this service verified itself (e.g. claims of a token its auth
   * middleware validated). Never pass what the caller merely asserts.
   */
  evidence?: (req: Req) => AuthEvidence | undefined;
  /** The step-up challenge style; `rfc9470` by default. */
  challenge?: ChallengeStyle;
}

export interface Enforcement extends HttpOutcome {
  decision?: AgentDecision;
}

/** Decides an HTTP request and says what to answer: 200 (go on), 401, 403, or 400 for bad input. */
export function enforce<Req extends HttpRequestLike>(
  point: DecisionPointLike,
  req: Req,
  options: EnforcementOptions<Req>,
): Enforcement | { status: 400; headers: Record<string, string>; body: Record<string, unknown> } {
  try {
    const input = (options.mapRequest ?? defaultMapRequest)(req);
    const decision = point.decide(input, options.evidence?.(req));
    return { ...httpOutcome(decision, point.levels, options.challenge), decision };
  } catch (error) {
    if (error instanceof StepgateError && error.code === 'request/invalid')
      return { status: 400, headers: {}, body: { ...errorBody(error) } };
    throw error;
  }
}

/** `http:<METHOD>` on `{kind: 'http', id: <path>}`; the principal is `req.user` when it has an id. */
export function defaultMapRequest(req: HttpRequestLike): DecisionRequest {
  const context: Record<string, unknown> = {};
  if (typeof req.ip === 'string' && req.ip !== '') context.ip = req.ip;
  const agent = req.headers?.['user-agent'];
  if (typeof agent === 'string') context.userAgent = agent;
  return httpDecisionRequest(
    req.method ?? 'GET',
    req.originalUrl ?? req.url ?? '/',
    principalOf(req.user),
    context,
  );
}

function principalOf(user: unknown): DecisionRequest['principal'] {
  if (typeof user !== 'object' || user === null) return { id: ANONYMOUS };
  const { id, roles, groups } = user as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') return { id: ANONYMOUS };
  const principal: DecisionRequest['principal'] = { id };
  if (isStringList(roles)) principal.roles = roles;
  if (isStringList(groups)) principal.groups = groups;
  return principal;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Writes a 4xx through whichever response API the framework offers. */
export function sendOutcome(
  res: HttpResponseLike,
  status: number,
  headers: Record<string, string>,
  body: Record<string, unknown> | undefined,
): void {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof res.setHeader === 'function') res.setHeader(name, value);
    else if (typeof res.header === 'function') res.header(name, value);
  }
  if (typeof res.status === 'function' && typeof res.json === 'function') {
    res.status(status);
    res.json(body ?? {});
  } else if (typeof res.code === 'function' && typeof res.send === 'function') {
    res.code(status);
    res.send(body ?? {});
  } else if (typeof res.end === 'function') {
    res.statusCode = status;
    res.setHeader?.('content-type', 'application/json');
    res.end(JSON.stringify(body ?? {}));
  } else {
    throw new TypeError('cannot write to this response object');
  }
}

/** Sets the allow headers (decision id) without ending the response. */
export function setHeaders(res: HttpResponseLike, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof res.setHeader === 'function') res.setHeader(name, value);
    else if (typeof res.header === 'function') res.header(name, value);
  }
}
