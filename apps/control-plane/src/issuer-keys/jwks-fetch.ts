import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import {
  guardedLookup,
  OutboundAddressError,
  urlHostProblem,
  type OutboundPolicy,
} from '../common/outbound-guard.js';

/** Limits on one JWKS download: an identity provider that hangs or floods never stalls signing. */
export const JWKS_TIMEOUT_MS = 5000;
export const JWKS_MAX_BYTES = 1024 * 1024;

const jwksSchema = z.object({
  keys: z.array(z.record(z.string(), z.unknown())).max(100, 'more than 100 keys'),
});

/** A JWKS could not be fetched or was not a JWKS; the message is safe to log and show. */
export class JwksFetchError extends Error {
  override name = 'JwksFetchError';
}

/**
 * Downloads and validates a JWKS: GET with a 5 s timeout, at most 1 MiB, JSON `{keys: [...]}`.
 * Redirects are refused: a `jwks_uri` is configured exactly, and following one could lead
 * the control plane to an address nobody reviewed. The connection goes only where
 * `addresses` allows (no link-local or metadata address ever; private and loopback ones only
 * when configured), checked for every address the host name resolves to when connecting.
 */
export async function fetchJwks(
  url: string,
  options: { addresses: OutboundPolicy; timeoutMs?: number; maxBytes?: number },
): Promise<Record<string, unknown>[]> {
  const json = await fetchGuardedJson(url, {
    ...options,
    accept: 'application/json, application/jwk-set+json',
  });
  const parsed = jwksSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new JwksFetchError(
      `${url} did not answer a JWKS ({"keys": [...]}): ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  return parsed.data.keys;
}

/**
 * One JSON document from a URL someone else chose (a JWKS, an OIDC discovery document), with
 * the protections {@link fetchJwks} describes: outbound address policy, no redirects, a
 * timeout and a size cap. Failures are {@link JwksFetchError}s whose message names the URL.
 */
export async function fetchGuardedJson(
  url: string,
  options: { addresses: OutboundPolicy; timeoutMs?: number; maxBytes?: number; accept: string },
): Promise<unknown> {
  const maxBytes = options.maxBytes ?? JWKS_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? JWKS_TIMEOUT_MS;
  const refused = urlHostProblem(url, options.addresses);
  if (refused !== undefined) throw new JwksFetchError(`cannot fetch ${url}: refused: ${refused}`);
  const signal = AbortSignal.timeout(timeoutMs);
  let response: IncomingMessage;
  try {
    response = await get(url, options.addresses, options.accept, signal);
  } catch (error) {
    const cause = error as NodeJS.ErrnoException;
    const why = signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : cause instanceof OutboundAddressError
        ? cause.message
        : (cause.code ?? cause.message);
    throw new JwksFetchError(`cannot fetch ${url}: ${why}`);
  }
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400) {
    response.destroy();
    throw new JwksFetchError(
      `cannot fetch ${url}: redirected (HTTP ${status}); redirects are not followed, configure the final URL`,
    );
  }
  if (status < 200 || status >= 300) {
    response.destroy();
    throw new JwksFetchError(`${url} answered HTTP ${status}`);
  }
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    response.destroy();
    throw new JwksFetchError(`${url} sent ${declared} bytes; at most ${maxBytes} are read`);
  }
  const text = await readCapped(response, maxBytes, url, signal, timeoutMs);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new JwksFetchError(`${url} did not answer JSON`);
  }
}

/** One GET through the guarded lookup; resolves with the response head. */
function get(
  url: string,
  addresses: OutboundPolicy,
  accept: string,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(
      url,
      {
        headers: { accept },
        lookup: guardedLookup(addresses),
        signal,
      },
      resolve,
    );
    request.on('error', reject);
  });
}

async function readCapped(
  response: IncomingMessage,
  maxBytes: number,
  url: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        response.destroy();
        throw new JwksFetchError(
          `${url} sent more than ${maxBytes} bytes; at most ${maxBytes} are read`,
        );
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof JwksFetchError) throw error;
    if (signal.aborted)
      throw new JwksFetchError(`cannot fetch ${url}: no answer within ${timeoutMs} ms`);
    throw new JwksFetchError(`reading ${url} failed: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
