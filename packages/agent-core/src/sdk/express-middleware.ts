import {
  enforce,
  sendOutcome,
  setHeaders,
  type DecisionPointLike,
  type EnforcementOptions,
  type HttpRequestLike,
  type HttpResponseLike,
} from './enforcement.js';

/** Express-style `next`. */
export type NextFunction = (error?: unknown) => void;

/**
 * Express (or Connect) middleware that enforces the decision point on every request:
 * allow -> `next()` (the decision is on `res.locals.stepgate`), deny -> 403, step-up -> 401
 * with the challenge in `WWW-Authenticate`, a request the mapping cannot turn into a valid
 * input -> 400. Anything else thrown goes to `next(error)`.
 *
 * ```ts
 * app.use(expressMiddleware(point, { challenge: 'rfc9470' }));
 * ```
 */
export function expressMiddleware<Req extends HttpRequestLike = HttpRequestLike>(
  point: DecisionPointLike,
  options: EnforcementOptions<Req> = {},
): (req: Req, res: HttpResponseLike, next: NextFunction) => void {
  return (req, res, next) => {
    let outcome;
    try {
      outcome = enforce(point, req, options);
    } catch (error) {
      next(error);
      return;
    }
    if (outcome.status === 200) {
      setHeaders(res, outcome.headers);
      if (res.locals !== undefined && 'decision' in outcome) res.locals.stepgate = outcome.decision;
      next();
      return;
    }
    sendOutcome(res, outcome.status, outcome.headers, outcome.body);
  };
}
