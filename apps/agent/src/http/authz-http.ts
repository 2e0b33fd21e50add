import type { IncomingMessage } from 'node:http';
import { ANONYMOUS, clientAddress, httpDecisionRequest } from '@stepgate/agent-core';
import type { ChallengeStyle, VerifiedToken } from '@stepgate/agent-core';
import type { AuthEvidence, Cidr, DecisionRequest } from '@stepgate/policy';
import { checkRequestLimits } from './decision-input.js';

/** Where `/v1/authz/http` is served; Envoy appends the original path to it. */
export const AUTHZ_HTTP_PATH = '/v1/authz/http';

/** Who is calling, from verified credentials only. */
export interface HttpIdentity {
  principal: DecisionRequest['principal'];
  evidence?: AuthEvidence;
  /** How to phrase a step-up challenge: the token issuer's setting, when there is a token. */
  challenge?: ChallengeStyle;
}

export const anonymousIdentity = (): HttpIdentity => ({ principal: { id: ANONYMOUS } });

/** The caller of a proxied request: the verified token's principal, else anonymous. */
export function identityOf(token: VerifiedToken | undefined): HttpIdentity {
  if (token === undefined) return anonymousIdentity();
  return {
    principal: token.principal,
    evidence: token.evidence,
    challenge: token.issuer.challenge,
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * The decision input for a reverse-proxy check. Each proxy's convention is read as a whole,
 * so a header the proxy does not set (and a client could) never overrides one it does:
 * - Envoy ext_authz (`path_prefix: /v1/authz/http`): the original path follows the prefix,
 *   the method is the request's own; headers are not consulted;
 * - nginx `auth_request`: `X-Original-URI` and `X-Original-Method` (else the subrequest's
 *   method, which nginx copies from the original request);
 * - Traefik ForwardAuth: `X-Forwarded-Uri` and `X-Forwarded-Method`;
 * - none of these: the request's own method on `/`.
 * Context: `ip` (the TCP peer; forwarding headers only from `trustedProxies`, see
 * `clientAddress`), `host`, `userAgent`.
 * @throws StepgateError `request/invalid` for a malformed method or path, or past a size
 *   limit: 414 for a path in the request line, 431 for one in a header (nginx, Traefik).
 */
export function proxiedRequest(
  req: IncomingMessage,
  pathname: string,
  query: string,
  identity: HttpIdentity,
  trustedProxies: readonly Cidr[] = [],
): DecisionRequest {
  const own = req.method ?? 'GET';
  const suffix = pathname.slice(AUTHZ_HTTP_PATH.length);
  let method: string;
  let path: string;
  const originalUri = header(req, 'x-original-uri');
  const forwardedUri = header(req, 'x-forwarded-uri');
  if (suffix !== '') {
    method = own;
    path = `${suffix}${query}`;
  } else if (originalUri !== undefined) {
    method = header(req, 'x-original-method') ?? own;
    path = originalUri;
  } else if (forwardedUri !== undefined) {
    method = header(req, 'x-forwarded-method') ?? own;
    path = forwardedUri;
  } else {
    method = header(req, 'x-original-method') ?? header(req, 'x-forwarded-method') ?? own;
    path = '/';
  }
  const context: Record<string, unknown> = {};
  const ip = clientAddress(
    req.socket?.remoteAddress,
    {
      'x-forwarded-for': joined(req, 'x-forwarded-for'),
      forwarded: joined(req, 'forwarded'),
      'x-real-ip': header(req, 'x-real-ip'),
    },
    trustedProxies,
  );
  if (ip) context.ip = ip;
  const host = header(req, 'x-forwarded-host') ?? header(req, 'host');
  if (host) context.host = host;
  const userAgent = header(req, 'user-agent');
  if (userAgent) context.userAgent = userAgent;
  const request = httpDecisionRequest(method, path, identity.principal, context);
  const pathInHeader = suffix === '' && path !== '/';
  checkRequestLimits(request, {
    status: (field) =>
      field === 'resource.id' ? (pathInHeader ? 431 : 414) : field === 'context' ? 431 : 400,
  });
  return request;
}

/** Every value of a header that may be repeated, in order, comma-joined (RFC 9110 5.3). */
function joined(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  if (Array.isArray(value)) return value.join(', ');
  return value === '' ? undefined : value;
}
