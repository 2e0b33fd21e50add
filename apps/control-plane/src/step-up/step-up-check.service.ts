import { Injectable } from '@nestjs/common';
import {
  decideWithGrants,
  grantsMayImprove,
  InvalidRequestError,
  type Decision,
  type DecisionRequest,
} from '@stepgate/policy';
import { StepgateError, type CheckRequest, type CheckResponse } from '@stepgate/protocol';
import { GrantsService } from '../grants/grants.service.js';
import { ActiveEngineService, type ActiveEngines } from './active-engine.service.js';
import { DecisionFactsService } from './decision-facts.service.js';
import { satisfyHints } from './satisfy.js';

/**
 * Decides a request on the control plane exactly as an agent would, with the principal's
 * grants as evidence and the live data and risk signals agents hold: for pipelines and the CLI (`stepgate check`) that talk to the control
 * plane only.
 */
@Injectable()
export class StepUpCheckService {
  constructor(
    private readonly engines: ActiveEngineService,
    private readonly grants: GrantsService,
    private readonly facts: DecisionFactsService,
  ) {}

  async check(request: CheckRequest, now = new Date()): Promise<CheckResponse> {
    const engines = await this.engines.current();
    if (!engines)
      throw new StepgateError(
        'service/unavailable',
        'no policy version is active yet, so nothing can be decided: push policies to the policy repository (or activate a ready version) and retry',
      );
    const decision = await this.decide(engines.engine, request, now);
    const response: CheckResponse = {
      decision,
      levels: engines.engine.settings.levels.map((level) => level.name),
    };
    if (decision.effect === 'step_up' && decision.require)
      response.satisfy = satisfyHints(
        decision.require,
        request.action,
        request.resource.id,
        request.principal,
        decision.unmet,
      );
    return response;
  }

  /**
   * Without evidence first (a check has no token of its own): most requests are decided
   * without a step-up, and then the grants table is not read at all. The grants then count by
   * `decideWithGrants`, the function the agent's decision point calls.
   */
  async decide(
    engine: ActiveEngines['engine'],
    request: DecisionRequest,
    now: Date,
  ): Promise<Decision> {
    // The live data and the principal's signals, as an agent holds them (read before the
    // request is checked: a malformed principal is the engine's to refuse, with its message).
    const principal = (request as { principal?: { id?: unknown } }).principal?.id;
    const facts = typeof principal === 'string' ? await this.facts.for(engine, principal) : {};
    try {
      const first = engine.decide(request, undefined, { now, ...facts });
      if (!grantsMayImprove(first)) return first;
      const grants = await this.grants.evidenceFor(
        request.principal.id,
        request.action,
        request.resource,
        now,
      );
      const deciding =
        facts.live !== undefined || facts.signals !== undefined
          ? {
              decide: (...[r, e, o]: Parameters<typeof engine.decide>) =>
                engine.decide(r, e, { ...o, ...facts }),
            }
          : engine;
      return decideWithGrants(deciding, request, { first, grants, now }).decision;
    } catch (error) {
      if (error instanceof InvalidRequestError)
        throw new StepgateError('request/invalid', error.message);
      throw error;
    }
  }
}
