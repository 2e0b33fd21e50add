import { meterCondition } from '../cel/cost-instrument.js';
import { CostBudgetError, CostMeter } from '../cel/cost-meter.js';
import { runtimeEnvironment } from '../cel/environment.js';
import { fastZonedDate } from '../cel/zoned-time.js';
import { PolicySetError } from '../errors.js';
import type {
  AuthEvidence,
  CompiledPolicySet,
  Decision,
  DecisionRequest,
  Effect,
  Reason,
  Requirement,
  RequirementPart,
  RuleError,
  RuleMode,
  Settings,
  SignalDeclaration,
} from '../model.js';
import { newDecisionId } from './decision-id.js';
import { signalValue, signalZeroValue, type LiveData } from './live-data.js';
import { normalizeRequest } from './request.js';
import { Levels } from './step-up.js';
import { TargetIndex, takesResource, type TargetEntry } from './target-index.js';

type Condition = (activation: Record<string, unknown>) => unknown;

interface PreparedRule {
  policy: string;
  rule: string;
  effect: Effect;
  mode: RuleMode;
  when?: Condition;
  require?: Requirement;
  reason: Reason;
  /**
   * `[reason]`, frozen: the reasons of a decision this rule alone makes. The agent's log keeps
   * decisions until they are shipped, long enough to be copied out of the young generation,
   * so what a rule always produces is made once, here, not kept again with every record.
   */
  alone: readonly Reason[];
  /** `require` as the merge of it alone gives it (frozen), for a step-up this rule alone asks. */
  requireAlone?: Requirement;
}

export interface DecideOptions {
  /** The evaluation time (`now` in conditions, and for maxAge); defaults to the clock. */
  now?: Date;
  decisionId?: string;
  /**
   * The live data this agent holds: `data.<name>` of every declared live document reads its
   * value here, or its default when absent; undeclared names are ignored. Without it, every
   * live document reads its default. The overlaid `data` is built once per revision and
   * documents object, so pass the same object for as long as the revision does not change.
   */
  live?: LiveData;
  /**
   * The principal's risk signals by name; a declared signal that is absent reads its zero
   * value (count and distinct 0, exists false, last null), an undeclared name is ignored.
   */
  signals?: Readonly<Record<string, unknown>>;
}

export interface EngineOptions {
  /** Monotonic revision of the policy set, reported on every decision. */
  revision?: number;
  /** This agent's labels: policies with an `agents` selector apply only where all its labels match. */
  labels?: Readonly<Record<string, string>>;
}

const DEFAULT_REASON: Reason = Object.freeze({
  policy: '(default)',
  rule: 'defaultEffect',
  effect: 'deny',
  message: 'No rule allows this request (defaultEffect: deny).',
});
const DEFAULT_REASONS = Object.freeze([DEFAULT_REASON]) as Reason[];
const NO_REASONS = Object.freeze([]) as unknown as Reason[];

/** A rule's reason added to the reasons so far: a shared one-rule list is copied, never changed. */
function withReason(reasons: Reason[] | undefined, rule: PreparedRule): Reason[] {
  if (reasons === undefined) return rule.alone as Reason[];
  if (Object.isFrozen(reasons)) return [...reasons, rule.reason];
  reasons.push(rule.reason);
  return reasons;
}

/**
 * The prepared, in-memory form of a policy set: conditions are parsed once, targets are
 * indexed, and `decide` touches only the policies whose target matches the request.
 */
export class PolicyEngine {
  readonly revision: number;
  readonly settings: Settings;
  private readonly levels: Levels;
  private readonly index: TargetIndex<PreparedRule[]>;
  /** Git data, with each live document's default when the settings declare live data. */
  private readonly data: Record<string, unknown>;
  private readonly liveNames: readonly string[];
  /** The `data` of the last live data seen, rebuilt only when its revision or object changes. */
  private liveCache?: { live: LiveData; revision: number; data: Record<string, unknown> };
  private readonly signalDeclarations: readonly [string, SignalDeclaration][];
  /** `signals` when the caller gives none: every declared signal at its zero value. */
  private readonly zeroSignals: Readonly<Record<string, unknown>>;
  /** The cost budget of the conditions of the decision being made (decide is synchronous). */
  private readonly meter = new CostMeter();

  constructor(policySet: CompiledPolicySet, options: EngineOptions = {}) {
    this.revision = options.revision ?? 0;
    this.settings = policySet.settings;
    this.levels = new Levels(policySet.settings.levels);
    const liveData = policySet.settings.liveData ?? {};
    this.liveNames = Object.keys(liveData);
    this.data =
      this.liveNames.length === 0
        ? policySet.data
        : {
            ...policySet.data,
            ...Object.fromEntries(
              Object.entries(liveData).map(([name, live]) => [name, live.default]),
            ),
          };
    this.signalDeclarations = Object.entries(policySet.settings.signals ?? {});
    this.zeroSignals = Object.freeze(
      Object.fromEntries(
        this.signalDeclarations.map(([name, signal]) => [name, signalZeroValue(signal.aggregate)]),
      ),
    );
    const env = runtimeEnvironment();
    this.index = new TargetIndex(
      policySet.policies
        .filter((policy) => selects(policy.agents, options.labels ?? {}))
        .map((policy) => ({
          ...policy.target,
          value: policy.rules.map((rule): PreparedRule => {
            const reason: Reason = { policy: policy.name, rule: rule.name, effect: rule.effect };
            if (rule.message !== undefined) reason.message = rule.message;
            const prepared: PreparedRule = {
              policy: policy.name,
              rule: rule.name,
              effect: rule.effect,
              mode: rule.mode,
              reason: Object.freeze(reason),
              alone: Object.freeze([reason]),
            };
            if (rule.require) {
              prepared.require = rule.require;
              prepared.requireAlone = Object.freeze(this.levels.merge([rule.require]));
            }
            if (rule.when !== undefined) {
              try {
                prepared.when = meterCondition(env.parse(rule.when), this.meter);
              } catch (error) {
                throw new PolicySetError(
                  'policy_set/invalid',
                  `${policy.name}/${rule.name}: condition does not parse: ${(error as Error).message.split('\n')[0]}`,
                );
              }
            }
            return prepared;
          }),
        })),
    );
  }

  /**
   * Decides a request. `evidence` is verified authentication (from a token or grant the
   * caller checked itself); anything the requester claims belongs in `request.context`.
   * Throws InvalidRequestError when the request lacks principal.id, action or resource.
   */
  decide(request: DecisionRequest, evidence?: AuthEvidence, options: DecideOptions = {}): Decision {
    const started = performance.now();
    const input = normalizeRequest(request);
    const now = options.now ?? new Date();
    // A private copy: the caller's Date is not modified, and conditions get fast time zones.
    const celNow = fastZonedDate(now.getTime());
    const auth = this.levels.resolve(evidence);
    this.meter.startDecision();
    const activation: Record<string, unknown> = {
      principal: input.principal,
      action: input.action,
      actionAttributes: input.actionAttributes,
      resource: input.resource,
      context: input.context,
      auth: {
        level: auth.level,
        acr: auth.acr,
        amr: auth.amr,
        authTime: auth.authTime,
        approvals: auth.approvals,
        grants: auth.grants,
      },
      data: options.live && this.liveNames.length > 0 ? this.liveData(options.live) : this.data,
      signals:
        options.signals && this.signalDeclarations.length > 0
          ? this.signals(options.signals)
          : this.zeroSignals,
      now: celNow,
    };

    // Made only when a rule needs them (most decisions fill one of the three, or none), and
    // as a one-element literal first: `[]` then push reserves room for 17.
    let denies: Reason[] | undefined;
    let allows: Reason[] | undefined;
    let stepUps: PreparedRule[] | undefined;
    let audit: Reason[] | undefined;
    let errors: RuleError[] | undefined;

    // The memoised candidates, tested here one by one (no list built), in indexed loops: on
    // this path `for...of` showed as iterator objects in heap profiles.
    const candidates = this.index.candidatesFor(input.action);
    for (let c = 0; c < candidates.length; c++) {
      const candidate = candidates[c] as TargetEntry<PreparedRule[]>;
      if (!takesResource(candidate, input.resource.id)) continue;
      const rules = candidate.value;
      for (let r = 0; r < rules.length; r++) {
        const rule = rules[r] as PreparedRule;
        let matched = true;
        if (rule.when) {
          let value: unknown;
          try {
            value = rule.when(activation);
            if (typeof value !== 'boolean')
              throw new Error(
                `condition returned ${value === null ? 'null' : typeof value}, not a bool`,
              );
          } catch (error) {
            const message = (error as Error).message?.split('\n')[0] ?? String(error);
            const ruleError: RuleError = { policy: rule.policy, rule: rule.rule, message };
            if (error instanceof CostBudgetError) ruleError.code = error.code;
            (errors ??= []).push(ruleError);
            if (rule.mode === 'enforce' && this.settings.onError === 'deny') {
              (denies ??= []).push({
                policy: rule.policy,
                rule: rule.rule,
                effect: 'deny',
                message: `condition failed (onError: deny): ${message}`,
              });
            }
            continue;
          }
          matched = value;
        }
        if (!matched) continue;
        if (rule.mode === 'audit') {
          audit = withReason(audit, rule);
        } else if (rule.effect === 'deny') {
          denies = withReason(denies, rule);
        } else if (rule.effect === 'allow') {
          allows = withReason(allows, rule);
        } else if (stepUps === undefined) {
          stepUps = [rule];
        } else {
          stepUps.push(rule);
        }
      }
    }

    let effect: Effect;
    let reasons: Reason[];
    let require: Requirement | undefined;
    let unmet: RequirementPart[] | undefined;
    if (denies !== undefined) {
      effect = 'deny';
      reasons = denies;
    } else if (allows === undefined && this.settings.defaultEffect === 'deny') {
      effect = 'deny';
      reasons = DEFAULT_REASONS;
    } else {
      // Rule 3 of combining: the complete requirement of every unmet rule, not only its
      // missing parts, so that one step-up (one RFC 9470 challenge with acr_values and
      // max_age) meets it; a rule the evidence already meets adds nothing.
      let unmetRules: PreparedRule[] | undefined;
      if (stepUps !== undefined)
        for (let i = 0; i < stepUps.length; i++) {
          const rule = stepUps[i] as PreparedRule;
          if (!this.levels.meets(rule.require as Requirement, auth, input.principal.id, now))
            (unmetRules ??= []).push(rule);
        }
      if (unmetRules !== undefined) {
        effect = 'step_up';
        const only = unmetRules.length === 1 ? (unmetRules[0] as PreparedRule) : undefined;
        require =
          only?.requireAlone ??
          this.levels.merge(unmetRules.map((rule) => rule.require as Requirement));
        unmet = this.levels.unmet(require, auth, input.principal.id, now) as RequirementPart[];
        reasons = (only?.alone as Reason[] | undefined) ?? unmetRules.map((rule) => rule.reason);
      } else {
        effect = 'allow';
        reasons = allows ?? NO_REASONS;
      }
    }

    // One literal per shape: fields added afterwards would go to a second object (a property
    // array), kept with the decision in the agent's log.
    const decisionId = options.decisionId ?? newDecisionId();
    const decision: Decision =
      require !== undefined && unmet !== undefined
        ? { effect, reasons, revision: this.revision, decisionId, durationNs: 0, require, unmet }
        : { effect, reasons, revision: this.revision, decisionId, durationNs: 0 };
    if (audit) decision.audit = audit;
    if (errors) decision.errors = errors;
    decision.durationNs = Math.round((performance.now() - started) * 1e6);
    return decision;
  }

  /** `data` with the declared live documents of `live` over their defaults. */
  private liveData(live: LiveData): Record<string, unknown> {
    const cached = this.liveCache;
    if (cached && cached.live === live && cached.revision === live.revision) return cached.data;
    const data = { ...this.data };
    for (const name of this.liveNames)
      if (Object.hasOwn(live.documents, name)) data[name] = live.documents[name];
    this.liveCache = { live, revision: live.revision, data };
    return data;
  }

  /** The declared signals, each the caller's value or its zero value. */
  private signals(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const signals: Record<string, unknown> = {};
    for (let i = 0; i < this.signalDeclarations.length; i++) {
      const [name, declaration] = this.signalDeclarations[i] as [string, SignalDeclaration];
      signals[name] = signalValue(
        declaration,
        Object.hasOwn(values, name) ? values[name] : undefined,
      );
    }
    return signals;
  }
}

function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  return !selector || Object.entries(selector).every(([key, value]) => labels[key] === value);
}
