/**
 * The console's only way to the control plane: the public admin API, same origin, with the
 * signed-in bearer token. Errors become {@link ApiError} with the API's own message; a step-up
 * the active policies demand (401 auth/step_up_required) is handed to the page's step-up dialog
 * and the request is retried once the user elevated.
 */
import type { ErrorBody } from '@stepgate/protocol';
import { currentCredential, signOut } from '../auth/session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What a step-up dialog receives; resolves true once the user holds a fresh grant. */
export type StepUpHandler = (error: ApiError) => Promise<boolean>;
let stepUpHandler: StepUpHandler | undefined;

export function setStepUpHandler(handler: StepUpHandler | undefined): void {
  stepUpHandler = handler;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  /** The body's media type (default application/json). */
  contentType?: string;
  /** Extra request headers, e.g. the X-Stepgate-Reason a live-data write carries. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** `path?query` with empty values left out. */
export function withQuery(path: string, query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  // One retry after a step-up: a second demand means the grant did not satisfy the policy.
  for (let attempt = 0; ; attempt++) {
    try {
      return await send<T>(path, options);
    } catch (error) {
      if (
        attempt === 0 &&
        error instanceof ApiError &&
        error.code === 'auth/step_up_required' &&
        stepUpHandler &&
        (await stepUpHandler(error))
      )
        continue;
      throw error;
    }
  }
}

async function send<T>(path: string, options: RequestOptions): Promise<T> {
  const credential = currentCredential();
  const headers: Record<string, string> = { ...options.headers, accept: 'application/json' };
  if (credential) headers.authorization = `Bearer ${credential.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      body,
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The control plane cannot be reached. Check that it runs.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = parsed as Partial<ErrorBody> | undefined;
    const failure = new ApiError(
      response.status,
      typeof error?.error === 'string' ? error.error : `http/${response.status}`,
      typeof error?.message === 'string'
        ? error.message
        : `The control plane answered ${response.status} ${response.statusText}.`,
      error?.details,
    );
    // A revoked or expired credential: back to the sign-in page, with the reason.
    if (failure.code === 'auth/unauthenticated' && credential) signOut();
    throw failure;
  }
  return parsed as T;
}
