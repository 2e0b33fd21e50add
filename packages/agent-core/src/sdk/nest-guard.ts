import {
  enforce,
  sendOutcome,
  setHeaders,
  type DecisionPointLike,
  type EnforcementOptions,
  type HttpRequestLike,
  type HttpResponseLike,
} from './enforcement.js';

/** The part of NestJS's `ExecutionContext` the guard uses (no @nestjs import). */
export interface ExecutionContextLike {
  getType?(): string;
  switchToHttp(): { getRequest(): unknown; getResponse(): unknown };
}

/**
 * A NestJS guard (structurally a `CanActivate`) that enforces the decision point: allow ->
 * `true`; deny -> 403 and step-up -> 401 with the challenge, written by the guard itself
 * before it returns `false` (Nest then sees the response already sent and adds nothing).
 * Works with the Express and Fastify adapters.
 *
 * ```ts
 * app.useGlobalGuards(new StepgateGuard(point));
 * // or: { provide: APP_GUARD, useFactory: (p: DecisionPoint) => new StepgateGuard(p), inject: [DecisionPoint] }
 * ```
 */
export class StepgateGuard<Req extends HttpRequestLike = HttpRequestLike> {
  constructor(
    private readonly point: DecisionPointLike,
    private readonly options: EnforcementOptions<Req> = {},
  ) {}

  canActivate(context: ExecutionContextLike): boolean {
    const type = context.getType?.() ?? 'http';
    if (type !== 'http') throw new TypeError(`StepgateGuard guards HTTP handlers, not ${type}`);
    const http = context.switchToHttp();
    const req = http.getRequest() as Req;
    const res = http.getResponse() as HttpResponseLike;
    const outcome = enforce(this.point, req, this.options);
    if (outcome.status === 200) {
      setHeaders(res, outcome.headers);
      return true;
    }
    sendOutcome(res, outcome.status, outcome.headers, outcome.body);
    return false;
  }
}
