import { InvalidRequestError } from '@stepgate/policy';
import type { DecisionRequest, Level } from '@stepgate/policy';
import { stepUpChallenge, type ChallengeStyle } from './challenge.js';
import type { AgentDecision } from './decision-record.js';

/** The principal of requests nobody authenticated (verified bearer tokens come later). */
export const ANONYMOUS = 'anonymous';

const METHOD = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/**
 * The path policies see for an HTTP request: no query or fragment, percent-decoded (`%2F`
 * included), dot segments resolved and empty segments dropped. Decoding before matching
 * keeps `/admin/**` rules from being sidestepped with `/public/../admin/x` or `/%61dmin`.
 * @throws InvalidRequestError for malformed percent-encoding or control characters.
 */
export function normalizeHttpPath(raw: string): string {
  let path = raw;
  const cut = path.search(/[?#]/);
  if (cut >= 0) path = path.slice(0, cut);
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(path);
  if (scheme) path = path.slice(scheme[0].length);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new InvalidRequestError('the request path has malformed percent-encoding');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(decoded))
    throw new InvalidRequestError('the request path has control characters');
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = decoded.endsWith('/') && segments.length > 0 ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

/** `http:<METHOD>` for a request method. @throws InvalidRequestError for a malformed method. */
export function httpAction(method: string): string {
  if (!METHOD.test(method)) throw new InvalidRequestError('the request method is malformed');
  return `http:${method.toUpperCase()}`;
}

/** What an HTTP enforcement point answers for a decision. */
export interface HttpOutcome {
  status: 200 | 401 | 403;
  headers: Record<string, string>;
  /** JSON body for 401/403 (`{error, message, ...}`); none for 200. */
  body?: Record<string, unknown>;
}

/**
 * 200 for allow; 403 for deny; 401 with the step-up challenge (RFC 9470 by default) for
 * step_up. `levels` are the active bundle's authentication levels (for `acr_values`).
 */
export function httpOutcome(
  decision: AgentDecision,
  levels: readonly Level[],
  style: ChallengeStyle = 'rfc9470',
): HttpOutcome {
  const headers: Record<string, string> = { 'x-stepgate-decision-id': decision.decisionId };
  if (decision.effect === 'allow') return { status: 200, headers };
  const message = decision.reasons.find((reason) => reason.message)?.message;
  if (decision.effect === 'deny') {
    return {
      status: 403,
      headers,
      body: {
        error: 'auth/forbidden',
        message: message ?? 'Access denied by policy.',
        decisionId: decision.decisionId,
      },
    };
  }
  const challenge = stepUpChallenge(decision.require ?? {}, levels, {
    style,
    ...(message !== undefined ? { message } : {}),
  });
  headers['www-authenticate'] = challenge.header;
  const body: Record<string, unknown> = {
    error: 'auth/step_up_required',
    message: challenge.description,
    decisionId: decision.decisionId,
    require: decision.require ?? {},
  };
  if (challenge.acrValues !== undefined) body.acr_values = challenge.acrValues;
  if (challenge.maxAge !== undefined) body.max_age = challenge.maxAge;
  return { status: 401, headers, body };
}

/** An HTTP request as the decision input: `http:<METHOD>` on `{kind: 'http', id: <path>}`. */
export function httpDecisionRequest(
  method: string,
  rawPath: string,
  principal: DecisionRequest['principal'] = { id: ANONYMOUS },
  context: Record<string, unknown> = {},
): DecisionRequest {
  return {
    principal,
    action: httpAction(method),
    resource: { kind: 'http', id: normalizeHttpPath(rawPath) },
    context,
  };
}
