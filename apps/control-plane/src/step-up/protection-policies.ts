import { createHash } from 'node:crypto';
import { literalPrefix, type CompiledPolicy, type CompiledPolicySet } from '@stepgate/policy';
import { canonicalJson } from '@stepgate/protocol';

/** The resource kind of the control plane's own admin actions. */
export const SELF_RESOURCE_KIND = 'stepgate';
/** Every action the control plane protects itself with starts with this. */
export const SELF_ACTION_PREFIX = 'stepgate:';
/** The fingerprint when no version is active: there is no protection in force to change. */
export const NO_ACTIVE_PROTECTION = 'none';

/**
 * Whether an action glob can match some `stepgate:...` action. Every match of a glob starts with
 * its literal prefix (the text before the first `*`, `?` or `{`), so a glob whose prefix neither
 * starts with `stepgate:` nor is a prefix of it can never match one. The other way it may
 * over-approximate (`*:activate`, `{stepgate,x}:y`), never under: a protection policy is never
 * missed.
 */
export function canMatchSelfAction(pattern: string): boolean {
  const prefix = literalPrefix(pattern);
  return prefix.startsWith(SELF_ACTION_PREFIX) || SELF_ACTION_PREFIX.startsWith(prefix);
}

/**
 * A policy that can take part in a self-protection decision (`stepgate:*` on kind `stepgate`,
 * see SelfProtectionService): its target's actions can match a `stepgate:` action (no action
 * target matches everything), and it has no agent label selector (the control plane decides
 * without labels, so a selected policy never applies there; dropping the selector makes it one).
 * Resource targets are not used to rule a policy out: resource ids of admin actions embed
 * names (subjects, sources) and new routes may add forms, so only actions are a sound test.
 * Rule conditions cannot be decided statically (CEL), so every rule of such a policy counts.
 */
export function isProtectionPolicy(policy: CompiledPolicy): boolean {
  if (policy.agents && Object.keys(policy.agents).length > 0) return false;
  const actions = policy.target.actions;
  return actions === undefined || actions.length === 0 || actions.some(canMatchSelfAction);
}

/**
 * Everything of a policy set that can change a self-protection decision:
 * - the protection policies (name, target, every rule field; not the description or file,
 *   which change no decision), by name;
 * - when there is at least one: the settings that shape how they decide (`levels`, which map
 *   grant evidence to levels, and `onError`); the default effect is always `allow` there;
 * - the console's sign-in settings (`console:`), which decide who holds which scope;
 * - the data documents their conditions read (`data.<name>`; all data when a condition uses
 *   `data` any other way, e.g. `data[x]`).
 * Live data and signals never reach the control plane's own decisions, so they are not part.
 */
export function protectionView(set: CompiledPolicySet | null | undefined): unknown {
  const policies = (set?.policies ?? [])
    .filter(isProtectionPolicy)
    .map((policy) => ({ name: policy.name, target: policy.target, rules: policy.rules }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (!set || policies.length === 0) return { policies: [] };
  return {
    policies,
    settings: {
      levels: set.settings.levels,
      onError: set.settings.onError,
      // Console sign-in decides who holds which scope: granting a group operator or approver
      // changes who can act, so it needs the same step-up activation. Only when declared, so
      // fingerprints of sets without it stay as they were.
      ...(set.settings.console ? { console: set.settings.console } : {}),
    },
    data: referencedData(policies, set.data ?? {}),
  };
}

/** SHA-256 (hex) of the canonical protection view: equal fingerprints, equal protection. */
export function protectionFingerprint(set: CompiledPolicySet | null | undefined): string {
  return createHash('sha256')
    .update(canonicalJson(protectionView(set)))
    .digest('hex');
}

/**
 * Whether `next` adds, removes or changes a protection policy compared with the active set's
 * fingerprint. With no version active nothing is protected yet, so nothing can be bypassed:
 * the first version bootstraps (a fresh install activates its seed).
 */
export function protectionChanged(
  next: CompiledPolicySet | null | undefined,
  activeFingerprint: string,
): boolean {
  if (activeFingerprint === NO_ACTIVE_PROTECTION) return false;
  return protectionFingerprint(next) !== activeFingerprint;
}

const DATA_REFERENCE = /\bdata\b(\s*\.\s*([A-Za-z_][A-Za-z0-9_]*))?/g;

function referencedData(
  policies: { rules: CompiledPolicy['rules'] }[],
  data: Record<string, unknown>,
): Record<string, unknown> {
  const names = new Set<string>();
  for (const policy of policies) {
    for (const rule of policy.rules) {
      for (const match of (rule.when ?? '').matchAll(DATA_REFERENCE)) {
        if (match[2] === undefined) return data;
        names.add(match[2]);
      }
    }
  }
  return Object.fromEntries([...names].map((name) => [name, data[name] ?? null]));
}
