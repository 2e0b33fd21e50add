/**
 * Every error code Stepgate puts on the wire, namespaced `<area>/<what>`. Apps throw
 * {@link StepgateError} with one of these; a single HTTP filter maps it to a status with
 * {@link ERROR_STATUS} and a body with {@link errorBody}.
 */
export const ERROR_CODES = [
  'request/invalid',
  'auth/unauthenticated',
  'auth/invalid_token',
  'auth/forbidden',
  'auth/step_up_required',
  'route/not_found',
  'version/not_found',
  'source/not_found',
  'token/not_found',
  'token/conflict',
  'bundle/not_found',
  'agent/not_found',
  'grant/not_found',
  'approval/not_found',
  'replay/not_found',
  'decision/not_found',
  'version/not_ready',
  'version/conflict',
  'approval/conflict',
  'approval/forbidden',
  'approval/closed',
  'elevation/not_enrolled',
  'elevation/already_enrolled',
  'elevation/invalid_code',
  'elevation/challenge_invalid',
  'elevation/throttled',
  'elevation/enrolment_code_required',
  'elevation/enrolment_code_invalid',
  'elevation/enrolment_code_not_found',
  'grant/invalid',
  'grant/too_many',
  'bundle/invalid',
  'bundle/too_large',
  'key/invalid',
  'data/not_found',
  'data/invalid',
  'data/not_an_object',
  'data/fed_by_source',
  'events/rate_limited',
  'webhook/bad_signature',
  'webhook/replayed',
  'service/unavailable',
  'internal',
] as const;

/** A namespaced domain error code, e.g. `'version/not_found'`. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The HTTP status each error code maps to. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  'request/invalid': 400,
  'auth/unauthenticated': 401,
  // A bearer token was sent and refused (RFC 6750 `invalid_token`); the agent names it apart.
  'auth/invalid_token': 401,
  'route/not_found': 404,
  'auth/forbidden': 403,
  // The caller is known but must prove stronger or fresher authentication first (RFC 9470).
  'auth/step_up_required': 401,
  'version/not_found': 404,
  'source/not_found': 404,
  'token/not_found': 404,
  'token/conflict': 409,
  'bundle/not_found': 404,
  'agent/not_found': 404,
  'grant/not_found': 404,
  'approval/not_found': 404,
  'replay/not_found': 404,
  'decision/not_found': 404,
  'version/not_ready': 409,
  'version/conflict': 409,
  'approval/conflict': 409,
  'approval/forbidden': 403,
  'approval/closed': 409,
  'elevation/not_enrolled': 404,
  'elevation/already_enrolled': 409,
  'elevation/invalid_code': 401,
  'elevation/challenge_invalid': 400,
  'elevation/throttled': 429,
  // A first factor needs a one-time enrolment code from an admin, beyond the API token.
  'elevation/enrolment_code_required': 401,
  'elevation/enrolment_code_invalid': 401,
  'elevation/enrolment_code_not_found': 404,
  'grant/invalid': 400,
  // The subject holds as many grants in force as one person may (GRANTS_PER_SUBJECT).
  'grant/too_many': 409,
  'bundle/invalid': 400,
  'bundle/too_large': 413,
  'key/invalid': 400,
  // A live-data document the active version does not declare.
  'data/not_found': 404,
  // A write the document's JSON Schema refuses (details: every error, path and message).
  'data/invalid': 400,
  // A key write on a document whose value is not a JSON object.
  'data/not_an_object': 409,
  // An admin write of a document a data source feeds: the next fetch would overwrite it.
  'data/fed_by_source': 409,
  // More events this second than the token may post (STEPGATE_EVENTS_RATE_LIMIT); Retry-After says when.
  'events/rate_limited': 429,
  'webhook/bad_signature': 401,
  // A signed delivery seen before (same delivery id): refused so a captured request cannot act twice.
  'webhook/replayed': 409,
  'service/unavailable': 503,
  internal: 500,
});

/** Whether `value` is one of {@link ERROR_CODES}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** A domain error with a stable code; free of any HTTP framework. */
export class StepgateError extends Error {
  override name = 'StepgateError';
  /**
   * A more precise status than the code's, for refusals the transport decides (413 for a body
   * past the limit, 414/431 for a path past it, 405 for a method): the code stays the one
   * clients already switch on.
   */
  readonly status: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** JSON-serialisable context for the client (e.g. validation issues). Never secrets. */
    readonly details?: unknown,
    options?: ErrorOptions & { status?: number },
  ) {
    super(message, options);
    this.status = options?.status;
  }
}

/** The JSON error body every Stepgate API returns. */
export interface ErrorBody {
  /** The {@link ErrorCode}. */
  error: string;
  message: string;
  details?: unknown;
}

/** The HTTP status of a {@link StepgateError}: its own, else its code's. */
export function errorStatus(error: StepgateError): number {
  return error.status ?? ERROR_STATUS[error.code] ?? 500;
}

/** `{error, message, details?}` for a {@link StepgateError}; `details` only when present. */
export function errorBody(error: StepgateError): ErrorBody {
  const body: ErrorBody = { error: error.code, message: error.message };
  if (error.details !== undefined) body.details = error.details;
  return body;
}

/**
 * What an unexpected failure answers, in every app: 500 `internal` with only an id to find in
 * the log (the caller logs the error under that id), never the error's own message or stack.
 */
export function internalError(errorId: string): StepgateError {
  return new StepgateError('internal', `internal error (id ${errorId})`, { errorId });
}
