import type { IncomingMessage } from 'node:http';
import { fromTrustedProxy } from '@stepgate/agent-core';
import type { Cidr } from '@stepgate/policy';
import { invalidRequest } from './decision-input.js';

/** Where the PDP metadata is served (AuthZEN 1.0, "Policy Decision Point Metadata"). */
export const AUTHZEN_METADATA_PATH = '/.well-known/authzen-configuration';

/** The AuthZEN endpoints by their metadata parameter names, at their default paths. */
const ENDPOINTS: readonly (readonly [string, string])[] = [
  ['access_evaluation_endpoint', '/access/v1/evaluation'],
  ['access_evaluations_endpoint', '/access/v1/evaluations'],
  ['search_subject_endpoint', '/access/v1/search/subject'],
  ['search_resource_endpoint', '/access/v1/search/resource'],
  ['search_action_endpoint', '/access/v1/search/action'],
];

/**
 * The PDP metadata for a PDP identifier (`https://pdp.example.com`): the identifier itself as
 * `policy_decision_point` and every endpoint under it.
 */
export function authzenMetadata(base: string): Record<string, string> {
  const metadata: Record<string, string> = { policy_decision_point: base };
  for (const [name, path] of ENDPOINTS) metadata[name] = `${base}${path}`;
  return metadata;
}

// A DNS name or an IPv4 address, or a bracketed IPv6 address, with an optional port.
const HOST = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * The base URL the client used to reach the agent (the PDP identifier, which a PEP compares
 * with the URL it asked): scheme and host of the request, or, when the TCP peer is a trusted
 * proxy (STEPGATE_TRUSTED_PROXIES, the same trust as for `context.ip`), the ones the proxy
 * forwards: `Forwarded` (`proto=`, `host=` of the element nearest the client), else
 * `X-Forwarded-Proto` / `X-Forwarded-Host` (their first value). Anyone else's forwarding
 * headers are ignored: a client must not be able to point a PEP at another PDP.
 * @throws StepgateError `request/invalid` when the host or scheme is not one a URL can hold.
 */
export function pdpBaseUrl(req: IncomingMessage, trustedProxies: readonly Cidr[] = []): string {
  let proto = 'encrypted' in req.socket && req.socket.encrypted === true ? 'https' : 'http';
  let host = first(req.headers.host);
  let from = 'the Host header';
  if (fromTrustedProxy(req.socket.remoteAddress, trustedProxies)) {
    const forwarded = forwardedPairs(first(req.headers.forwarded));
    const forwardedProto = forwarded.proto ?? first(req.headers['x-forwarded-proto']);
    const forwardedHost = forwarded.host ?? first(req.headers['x-forwarded-host']);
    if (forwardedProto !== undefined) proto = forwardedProto.toLowerCase();
    if (forwardedHost !== undefined) {
      host = forwardedHost;
      from = forwarded.host !== undefined ? 'Forwarded host=' : 'X-Forwarded-Host';
    }
    if (proto !== 'http' && proto !== 'https')
      throw invalidRequest(
        `the forwarded scheme ${JSON.stringify(proto.slice(0, 20))} is not http or https`,
      );
  }
  const refused = () =>
    invalidRequest(
      `${from} ${JSON.stringify((host ?? '').slice(0, 100))} is not a host[:port]; the PDP identifier is built from it`,
    );
  if (host === undefined || !HOST.test(host)) throw refused();
  try {
    // The origin form: lower case, without the scheme's default port.
    return new URL(`${proto}://${host}`).origin;
  } catch {
    throw refused(); // a port past 65535
  }
}

/** The first value of a header that may be repeated or comma-separated. */
function first(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const head = text?.split(',')[0]?.trim();
  return head === undefined || head === '' ? undefined : head;
}

/** `proto` and `host` of one RFC 7239 element (`for=192.0.2.60;proto=https;host=pdp.example`). */
function forwardedPairs(element: string | undefined): { proto?: string; host?: string } {
  const pairs: { proto?: string; host?: string } = {};
  for (const part of element?.split(';') ?? []) {
    const cut = part.indexOf('=');
    if (cut < 0) continue;
    const name = part.slice(0, cut).trim().toLowerCase();
    const value = part
      .slice(cut + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (value === '') continue;
    if (name === 'proto') pairs.proto = value;
    else if (name === 'host') pairs.host = value;
  }
  return pairs;
}
