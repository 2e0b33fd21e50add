import { cidrContains, parseIp } from '@stepgate/policy';
import type { Cidr, DecisionRequest, Level } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import { stepUpChallenge, type ChallengeStyle } from './challenge.js';
import type { AgentDecision } from './decision-record.js';

/** The principal of requests nobody authenticated (verified bearer tokens come later). */
export const ANONYMOUS = 'anonymous';

const METHOD = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/**
 * The path policies see for an HTTP request: no query or fragment, percent-decoded (`%2F`
 * included), dot segments resolved and empty segments dropped. Decoding before matching
 * keeps `/admin/**` rules from being sidestepped with `/public/../admin/x` or `/%61dmin`.
 * @throws StepgateError `request/invalid` for malformed percent-encoding or control characters.
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
    throw new StepgateError('request/invalid', 'the request path has malformed percent-encoding');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(decoded))
    throw new StepgateError('request/invalid', 'the request path has control characters');
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = decoded.endsWith('/') && segments.length > 0 ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

/** `http:<METHOD>` for a request method. @throws StepgateError `request/invalid` for a malformed method. */
export function httpAction(method: string): string {
  if (!METHOD.test(method))
    throw new StepgateError('request/invalid', 'the request method is malformed');
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
    ...(decision.unmet !== undefined ? { unmet: decision.unmet } : {}),
  });
  headers['www-authenticate'] = challenge.header;
  const body: Record<string, unknown> = {
    error: 'auth/step_up_required',
    message: challenge.description,
    decisionId: decision.decisionId,
    require: decision.require ?? {},
    unmet: decision.unmet ?? [],
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

/** The forwarding headers a proxy may set, as received (a repeated header joined by commas). */
export interface ForwardingHeaders {
  'x-forwarded-for'?: string | undefined;
  forwarded?: string | undefined;
  'x-real-ip'?: string | undefined;
}

/**
 * The client's address for `context.ip`. Forwarding headers are believed only when the TCP
 * peer is a trusted proxy (`trusted`, STEPGATE_TRUSTED_PROXIES); anyone else's headers are
 * what the client chose, so the peer itself is the client. Behind a trusted peer the hops are
 * walked from the nearest one outwards (X-Forwarded-For, else the `for=` of `Forwarded`, else
 * X-Real-IP), skipping trusted proxies: the first untrusted address is the client (the
 * right-most untrusted X-Forwarded-For entry; entries further left were written by the
 * client). When every hop is trusted, the furthest one. Undefined when that address is not a
 * valid IP (`unknown`, a hostname, garbage): a policy must not match on it.
 */
export function clientAddress(
  peer: string | undefined,
  headers: ForwardingHeaders,
  trusted: readonly Cidr[],
): string | undefined {
  const peerAddress = peer === undefined ? undefined : canonicalIp(peer);
  if (peerAddress === undefined || !isTrusted(peerAddress, trusted)) return peerAddress;
  const hops = forwardedHops(headers);
  if (hops === undefined) return peerAddress;
  // Nearest first: the right-most entry was added by the trusted peer itself.
  for (let i = hops.length - 1; i >= 0; i--) {
    const address = canonicalIp(hops[i] as string);
    if (address === undefined) return undefined;
    if (i === 0 || !isTrusted(address, trusted)) return address;
  }
  return undefined;
}

/**
 * Whether the TCP peer is one of the trusted proxies (STEPGATE_TRUSTED_PROXIES), whose
 * forwarding headers (for the client's address, or the scheme and host it used) are believed.
 */
export function fromTrustedProxy(peer: string | undefined, trusted: readonly Cidr[]): boolean {
  const address = peer === undefined ? undefined : canonicalIp(peer);
  return address !== undefined && isTrusted(address, trusted);
}

/** Addresses the first forwarding header present lists, furthest first. */
function forwardedHops(headers: ForwardingHeaders): string[] | undefined {
  const xff = headers['x-forwarded-for'];
  if (xff !== undefined && xff.trim() !== '') return xff.split(',').map((hop) => hop.trim());
  const forwarded = headers.forwarded;
  if (forwarded !== undefined && forwarded.trim() !== '') {
    // RFC 7239: `for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"`; an element without
    // `for` is a hop nobody named, which no address can stand for.
    return forwarded.split(',').map((element) => {
      const pair = element
        .split(';')
        .map((part) => part.trim())
        .find((part) => part.toLowerCase().startsWith('for='));
      return pair === undefined
        ? ''
        : pair
            .slice(4)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    });
  }
  const realIp = headers['x-real-ip'];
  if (realIp !== undefined && realIp.trim() !== '') return [realIp.trim()];
  return undefined;
}

/**
 * An address as policies see it: without a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`),
 * brackets or a zone id, and an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack
 * socket reports) as plain IPv4. Undefined for anything that is not an IP address.
 */
function canonicalIp(text: string): string | undefined {
  let address = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1] as string;
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.indexOf(':'));
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  if (ip.version === 4 && address.includes(':'))
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 255n)).join('.');
  return address.split('%')[0];
}

function isTrusted(address: string, trusted: readonly Cidr[]): boolean {
  if (trusted.length === 0) return false;
  const ip = parseIp(address);
  return ip !== undefined && trusted.some((cidr) => cidrContains(cidr, ip));
}
