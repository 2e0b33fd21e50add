import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { cidrContains, parseCidr, parseIp, type Cidr, type IpAddress } from '@stepgate/policy';

/**
 * Where the control plane may connect when it fetches a URL someone else chose: a Git
 * source (an operator's `POST /v1/sources`, `STEPGATE_SOURCE_URL`) or an issuer's JWKS (a
 * policy author's `stepgate.yaml`). Without this, those URLs reach what only the control
 * plane's host can reach: the cloud metadata service (credentials), and services on
 * private networks or on the host itself.
 *
 * - Never: link-local (169.254.0.0/16, fe80::/10, where cloud metadata lives), the metadata
 *   names (metadata.google.internal...) and addresses (fd00:ec2::254), unspecified,
 *   multicast and reserved addresses.
 * - Only when allowed (`STEPGATE_ALLOW_PRIVATE_URLS`: `true`, or the ranges allowed): private
 *   (RFC 1918, CGNAT 100.64.0.0/10, benchmarking 198.18.0.0/15, IPv6 unique local fc00::/7)
 *   and loopback (127.0.0.0/8, ::1). A deployment with an internal Git server names its range.
 *
 * A host name is checked by what it resolves to, every address, at connection time (the
 * guarded `lookup` the connection itself uses), so a name that resolves to a public address
 * when checked and to a private one when connecting (DNS rebinding) is refused too. IPv4
 * carried in IPv6 (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16, IPv4-compatible) is checked as
 * the IPv4 address.
 */
export interface OutboundPolicy {
  /** Private and loopback addresses: refused (`false`), all allowed (`true`), or these ranges. */
  allowPrivate: boolean | readonly Cidr[];
  /** The variable that allows them, named when refusing (default STEPGATE_ALLOW_PRIVATE_URLS). */
  setting?: string;
}

/** Refuses private and loopback addresses: the default. */
export const PUBLIC_ONLY: OutboundPolicy = { allowPrivate: false };

/** A connection was refused by the outbound policy; the message names the address and why. */
export class OutboundAddressError extends Error {
  override name = 'OutboundAddressError';
  readonly code = 'EADDRREFUSED';
}

const ranges = (entries: [string, string][]) =>
  entries.map(([cidr, why]) => ({ cidr: parseCidr(cidr) as Cidr, why }));

const NEVER = ranges([
  ['0.0.0.0/8', 'an unspecified address'],
  ['169.254.0.0/16', 'link-local (where cloud metadata services answer)'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'an unspecified address'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
  ['fd00:ec2::254/128', 'the AWS metadata service'],
]);

const PRIVATE = ranges([
  ['127.0.0.0/8', 'loopback'],
  ['::1/128', 'loopback'],
  ['10.0.0.0/8', 'private (RFC 1918)'],
  ['172.16.0.0/12', 'private (RFC 1918)'],
  ['192.168.0.0/16', 'private (RFC 1918)'],
  ['100.64.0.0/10', 'shared address space (CGNAT, RFC 6598)'],
  ['198.18.0.0/15', 'a benchmarking network (RFC 2544)'],
  ['fc00::/7', 'unique local (ULA)'],
]);

/** Host names of cloud metadata services (they resolve to link-local addresses anyway). */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.internal',
]);

/** The IPv4 address an IPv6 address carries (NAT64, 6to4, IPv4-compatible), if any. */
function embeddedIpv4(ip: IpAddress): IpAddress | undefined {
  if (ip.version !== 6) return undefined;
  const v = ip.value;
  if (v >> 32n === 0x0064ff9b0000000000000000n) return { version: 4, value: v & 0xffffffffn };
  if (v >> 112n === 0x2002n) return { version: 4, value: (v >> 80n) & 0xffffffffn };
  if (v >> 32n === 0n && v > 1n) return { version: 4, value: v };
  return undefined;
}

/** Why connecting to `address` is refused under `policy`, or undefined when it is allowed. */
export function addressProblem(address: string, policy: OutboundPolicy): string | undefined {
  const parsed = parseIp(address);
  if (parsed === undefined) return `${address} is not an IP address`;
  const candidates = [parsed, embeddedIpv4(parsed)].filter((ip) => ip !== undefined);
  for (const ip of candidates) {
    const never = NEVER.find((range) => cidrContains(range.cidr, ip));
    if (never) return `${address} is ${never.why}`;
  }
  for (const ip of candidates) {
    const restricted = PRIVATE.find((range) => cidrContains(range.cidr, ip));
    if (restricted === undefined) continue;
    const allowed =
      policy.allowPrivate === true ||
      (Array.isArray(policy.allowPrivate) &&
        (policy.allowPrivate as readonly Cidr[]).some((cidr) => cidrContains(cidr, ip)));
    if (!allowed)
      return `${address} is ${restricted.why}; allow it with ${policy.setting ?? 'STEPGATE_ALLOW_PRIVATE_URLS'}`;
  }
  return undefined;
}

/** Why a host name is refused before any lookup (a metadata service's name), or undefined. */
export function hostNameProblem(hostname: string): string | undefined {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return METADATA_NAMES.has(name) ? `${hostname} is a cloud metadata service` : undefined;
}

/**
 * What is wrong with a URL's host as written (an http(s) URL whose host is a refused address
 * or a metadata name), or undefined. A host name that passes is still checked when it is
 * resolved, by {@link guardedLookup}.
 */
export function urlHostProblem(url: string, policy: OutboundPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return `${parsed.protocol} URLs are not fetched; use http(s)`;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) return addressProblem(host, policy);
  return hostNameProblem(host);
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for `http.request`/`net.connect` that resolves the name, refuses it when any
 * address it resolves to is refused, and hands the connection only addresses it checked.
 */
export function guardedLookup(policy: OutboundPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const named = hostNameProblem(hostname);
    if (named !== undefined) {
      callback(new OutboundAddressError(`refused: ${named}`), []);
      return;
    }
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) {
        callback(error, []);
        return;
      }
      for (const { address } of addresses) {
        const problem = addressProblem(address, policy);
        if (problem !== undefined) {
          callback(new OutboundAddressError(`refused: ${hostname} resolves to ${problem}`), []);
          return;
        }
      }
      if (options.all === true) callback(null, addresses);
      else {
        const first = addresses[0] as LookupAddress;
        callback(null, first.address, first.family);
      }
    });
  };
}

/**
 * `STEPGATE_ALLOW_PRIVATE_URLS`: unset or `false` (refuse), `true` (allow every private and
 * loopback address), or comma-separated CIDRs allowed. Link-local and metadata addresses stay
 * refused whatever it says.
 * @throws Error naming the entry that is not a CIDR.
 */
export function parseOutboundPolicy(value: string | undefined): OutboundPolicy {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'false') return PUBLIC_ONLY;
  if (text === 'true') return { allowPrivate: true };
  return {
    allowPrivate: text.split(',').map((entry) => {
      const cidr = parseCidr(entry.trim());
      if (cidr === undefined)
        throw new Error(
          `STEPGATE_ALLOW_PRIVATE_URLS must be true, false or comma-separated CIDRs like 10.20.0.0/16, got ${JSON.stringify(entry.trim())}`,
        );
      return cidr;
    }),
  };
}
