/**
 * What a live-data write brings besides its path, read and refused with clear messages: the
 * reason header, the body and its content type, and the schema validator's errors as details.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { LIVE_DATA_REASON_HEADER, liveDataReasonSchema, StepgateError } from '@stepgate/protocol';

/** The write's reason, from its header (percent-encoded UTF-8 decoded). */
export function reasonOf(request: { headers: IncomingHttpHeaders }): string {
  const raw = request.headers[LIVE_DATA_REASON_HEADER];
  const header = Array.isArray(raw) ? raw.join(', ') : raw;
  let text = header ?? '';
  try {
    text = decodeURIComponent(text);
  } catch {
    // Not percent-encoded (a literal "%"): taken as sent.
  }
  const parsed = liveDataReasonSchema.safeParse(text);
  if (!parsed.success)
    throw new StepgateError(
      'request/invalid',
      header === undefined || text.trim() === ''
        ? `a live-data write needs a reason: send it in the X-Stepgate-Reason header (1-1000 characters, percent-encoded UTF-8 for non-ASCII text), e.g. -H 'X-Stepgate-Reason: block the scanning range from ticket 4711'`
        : 'the X-Stepgate-Reason header is longer than 1000 characters',
    );
  return parsed.data;
}

/** The JSON body of a PUT or PATCH (any JSON value, null included). */
export function bodyOf(
  request: { headers: IncomingHttpHeaders; body?: unknown },
  op: 'put' | 'patch' | 'delete',
): unknown {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const accepted =
    op === 'patch' ? ['application/merge-patch+json', 'application/json'] : ['application/json'];
  if (!accepted.includes(type))
    throw new StepgateError(
      'request/invalid',
      `send the ${op === 'patch' ? 'merge patch (RFC 7396)' : 'new value'} as ${accepted.join(' or ')}${type === '' ? '' : `, not ${type}`}`,
      undefined,
      { status: 415 },
    );
  const body = request.body;
  if (body === undefined)
    throw new StepgateError(
      'request/invalid',
      `the body is missing: a ${op.toUpperCase()} carries the ${op === 'patch' ? 'merge patch' : 'new value'} as JSON`,
    );
  return body;
}

/** `/blocked/0: must be string` -> {path, message}, as every validation error is reported. */
export function validationDetails(errors: string[]): { path: string; message: string }[] {
  return errors.map(splitError);
}

function splitError(error: string): { path: string; message: string } {
  const at = error.indexOf(': ');
  if (at < 0) return { path: '', message: error };
  const path = error.slice(0, at);
  return { path: path === '(root)' ? '' : path, message: error.slice(at + 2) };
}
