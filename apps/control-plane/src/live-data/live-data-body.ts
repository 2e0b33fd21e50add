import { LIVE_DATA_MAX_BODY_BYTES } from '@stepgate/protocol';
import { json } from 'express';

/**
 * The body parser of `/v1/data`, mounted before the global one: a live document may be any
 * JSON value (`true`, `42`, `null` — the global parser takes only objects and arrays), and a
 * PATCH comes as `application/merge-patch+json` (RFC 7396). 413 past the limit.
 */
export function liveDataBodyParser() {
  return json({
    limit: LIVE_DATA_MAX_BODY_BYTES,
    strict: false,
    type: ['application/json', 'application/merge-patch+json'],
  });
}
