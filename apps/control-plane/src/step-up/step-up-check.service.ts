import { Injectable } from '@nestjs/common';
import {
  decideWithGrants,
  grantsMayImprove,
  InvalidRequestError,
  type Decision,
  type DecisionRequest,
} from '@stepgate/policy';
import {
  StepgateError,
  type CheckBody,
  type CheckRequest,
  type CheckResponse,
} from '@stepgate/protocol';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, hasScope, type Principal } from '../common/scopes.js';
import { GrantsService } from '../grants/grants.service.js';
import { ActiveEngineService, type ActiveEngines } from './active-engine.service.js';
import { askedPrincipal, callerPrincipal, type PrincipalSource } from './check-principal.js';
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
    private readonly audit: AuditService,
  ) {}

  /**
   * `POST /v1/check`: decides for the caller's verified principal (the token's subject, or the
   * ID token's mapped principal) with roles and groups from the policy data, and that
   * principal's grants. Naming another principal needs `check:any`; that answer applies no
   * grants (they are the other principal's, not the caller's) and is audited.
   */
  async checkFor(caller: Principal, body: CheckBody, now = new Date()): Promise<CheckResponse> {
    const engines = await this.activeEngines();
    const asked = body.principal?.id;
    let source: PrincipalSource = caller.authMethod === 'id-token' ? 'id-token' : 'token';
    let principal = callerPrincipal(caller, engines.data);
    if (asked !== undefined && asked !== caller.subject) {
      if (!hasScope(caller, ['check:any']))
        throw new StepgateError(
          'auth/forbidden',
          `this ${caller.authMethod === 'id-token' ? 'ID token' : 'token'} acts for "${caller.subject}"; asking about another principal ("${asked}") needs the check:any scope (omit principal to check for yourself)`,
        );
      source = 'asked';
      principal = askedPrincipal(asked, engines.data);
      await this.audit.record({
        actor: actorOf(caller),
        action: 'check.other_principal',
        target: asked,
        details: { action: body.action, resource: body.resource },
      });
    }
    const request: CheckRequest = {
      principal,
      action: body.action,
      ...(body.actionAttributes ? { actionAttributes: body.actionAttributes } : {}),
      resource: body.resource,
      ...(body.context ? { context: body.context } : {}),
    };
    const grantsApplied = source !== 'asked';
    const response = await this.respond(engines, request, now, grantsApplied);
    response.principal = {
      id: principal.id,
      source,
      roles: principal.roles ?? [],
      groups: principal.groups ?? [],
      ...(principal.attributes ? { attributes: principal.attributes } : {}),
    };
    response.grantsApplied = grantsApplied;
    if (!grantsApplied) {
      delete response.satisfy;
      response.note = `decided for ${principal.id} without their grants (elevations and approvals): only they can use them, so this is what they get before any step-up`;
    }
    return response;
  }

  /**
   * A complete decision input (the pipeline gates, which verified the principal themselves),
   * with the principal's grants.
   */
  async check(request: CheckRequest, now = new Date()): Promise<CheckResponse> {
    return this.respond(await this.activeEngines(), request, now, true);
  }

  private async activeEngines(): Promise<ActiveEngines> {
    const engines = await this.engines.current();
    if (!engines)
      throw new StepgateError(
        'service/unavailable',
        'no policy version is active yet, so nothing can be decided: push policies to the policy repository (or activate a ready version) and retry',
      );
    return engines;
  }

  private async respond(
    engines: ActiveEngines,
    request: CheckRequest,
    now: Date,
    withGrants: boolean,
  ): Promise<CheckResponse> {
    const decision = await this.decide(engines.engine, request, now, withGrants);
    const response: CheckResponse = {
      decision,
      levels: engines.engine.settings.levels.map((level) => level.name),
    };
    // No --role flags in the commands: an approval request takes roles from the policy data too.
    if (decision.effect === 'step_up' && decision.require)
      response.satisfy = satisfyHints(
        decision.require,
        request.action,
        request.resource.id,
        {},
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
    withGrants = true,
  ): Promise<Decision> {
    // The live data and the principal's signals, as an agent holds them (read before the
    // request is checked: a malformed principal is the engine's to refuse, with its message).
    const principal = (request as { principal?: { id?: unknown } }).principal?.id;
    const facts = typeof principal === 'string' ? await this.facts.for(engine, principal) : {};
    try {
      const first = engine.decide(request, undefined, { now, ...facts });
      if (!withGrants || !grantsMayImprove(first)) return first;
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
