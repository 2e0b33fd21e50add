import { z } from 'zod';

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
 * the control plane to an address nobody reviewed.
 */
export async function fetchJwks(
  url: string,
  options: { timeoutMs?: number; maxBytes?: number } = {},
): Promise<Record<string, unknown>[]> {
  const maxBytes = options.maxBytes ?? JWKS_MAX_BYTES;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs ?? JWKS_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = error as Error & { cause?: { code?: string; message?: string } };
    const why =
      cause.name === 'TimeoutError'
        ? `no answer within ${options.timeoutMs ?? JWKS_TIMEOUT_MS} ms`
        : (cause.cause?.code ?? cause.cause?.message ?? cause.message);
    throw new JwksFetchError(`cannot fetch ${url}: ${why}`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new JwksFetchError(`${url} answered HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new JwksFetchError(`${url} sent ${declared} bytes; a JWKS may have at most ${maxBytes}`);
  }
  const text = await readCapped(response, maxBytes, url);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new JwksFetchError(`${url} did not answer JSON`);
  }
  const parsed = jwksSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new JwksFetchError(
      `${url} did not answer a JWKS ({"keys": [...]}): ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  return parsed.data.keys;
}

async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new JwksFetchError(`${url} sent more than ${maxBytes} bytes; that is no JWKS`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof JwksFetchError) throw error;
    throw new JwksFetchError(`reading ${url} failed: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
