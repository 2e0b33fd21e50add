import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { shownDataSourceUrl } from '@stepgate/policy';
import {
  guardedLookup,
  OutboundAddressError,
  urlHostProblem,
  type OutboundPolicy,
} from '../common/outbound-guard.js';

/** Why a fetch failed, as the `outcome` label of the fetch counter. */
export type FetchErrorKind =
  'refused' | 'redirect' | 'http_status' | 'too_large' | 'timeout' | 'connection';

/** A failed fetch; the message names the URL (without its query string) and never a header. */
export class DataSourceFetchError extends Error {
  override name = 'DataSourceFetchError';
  constructor(
    readonly kind: FetchErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface DataSourceRequest {
  url: string;
  /** Resolved headers (they may hold secrets: never logged or put in a message). */
  headers: Readonly<Record<string, string>>;
  /** The ETag of the value last published, sent as If-None-Match. */
  etag: string | null;
  maxBytes: number;
  /** Limit of the whole fetch, connection to last byte. */
  timeoutMs: number;
  outbound: OutboundPolicy;
}

export type DataSourceResponse =
  { status: 'not_modified' } | { status: 'ok'; body: Buffer; etag: string | null };

/**
 * One GET of a data source. Refused: redirects (a feed is configured exactly; following one
 * could lead anywhere), addresses the outbound policy refuses (checked for every address the
 * name resolves to, and the connection goes to a checked one, so DNS rebinding cannot slip
 * through), bodies past `maxBytes` (the read stops there) and fetches past `timeoutMs`.
 * Throws DataSourceFetchError.
 */
export async function fetchDataSource(request: DataSourceRequest): Promise<DataSourceResponse> {
  const shown = shownDataSourceUrl(request.url);
  const refused = urlHostProblem(request.url, request.outbound);
  if (refused !== undefined)
    throw new DataSourceFetchError('refused', `cannot fetch ${shown}: refused: ${refused}`);
  const signal = AbortSignal.timeout(request.timeoutMs);
  const late = () =>
    new DataSourceFetchError(
      'timeout',
      `cannot fetch ${shown}: no complete answer within ${request.timeoutMs} ms`,
    );
  let response: IncomingMessage;
  try {
    response = await get(request, signal);
  } catch (error) {
    if (signal.aborted) throw late();
    if (error instanceof OutboundAddressError)
      throw new DataSourceFetchError('refused', `cannot fetch ${shown}: ${error.message}`);
    const cause = error as NodeJS.ErrnoException;
    throw new DataSourceFetchError(
      'connection',
      `cannot fetch ${shown}: ${cause.code ?? cause.message}`,
    );
  }
  const status = response.statusCode ?? 0;
  if (status === 304 && request.etag !== null) {
    response.destroy();
    return { status: 'not_modified' };
  }
  if (status >= 300 && status < 400) {
    response.destroy();
    const location = response.headers.location;
    throw new DataSourceFetchError(
      'redirect',
      `cannot fetch ${shown}: redirected (HTTP ${status}${location ? ` to ${shownDataSourceUrl(location)}` : ''}); redirects are not followed, configure the final URL`,
    );
  }
  if (status < 200 || status >= 300) {
    response.destroy();
    throw new DataSourceFetchError('http_status', `${shown} answered HTTP ${status}`);
  }
  const tooLarge = (size: string) =>
    new DataSourceFetchError(
      'too_large',
      `${shown} sent ${size} bytes; at most ${request.maxBytes} are read (maxBytes)`,
    );
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > request.maxBytes) {
    response.destroy();
    throw tooLarge(String(declared));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > request.maxBytes) {
        response.destroy();
        throw tooLarge('more than ' + request.maxBytes);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof DataSourceFetchError) throw error;
    if (signal.aborted) throw late();
    throw new DataSourceFetchError(
      'connection',
      `reading ${shown} failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const etag = response.headers.etag;
  return { status: 'ok', body: Buffer.concat(chunks), etag: etag === undefined ? null : etag };
}

function get(request: DataSourceRequest, signal: AbortSignal): Promise<IncomingMessage> {
  const client = request.url.startsWith('https:') ? https : http;
  const headers: Record<string, string> = {
    'user-agent': 'stepgate-control-plane (data source)',
    'accept-encoding': 'identity',
    ...request.headers,
  };
  if (request.etag !== null) headers['if-none-match'] = request.etag;
  return new Promise((resolve, reject) => {
    const outgoing = client.get(
      request.url,
      { headers, lookup: guardedLookup(request.outbound), signal, agent: false },
      resolve,
    );
    outgoing.on('error', reject);
  });
}
