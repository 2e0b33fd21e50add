import type { CompiledPolicySet } from '@stepgate/policy';

/**
 * Input fields the engine itself reads, whatever the conditions say: a request without its
 * principal id, action, resource kind or id is not one it decides; the target index matches on
 * the action and resource id; approvals exclude the principal.
 */
const STRUCTURAL = new Set([
  'principal',
  'principal.id',
  'action',
  'resource',
  'resource.id',
  'resource.kind',
]);

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/g;

/**
 * Which masked input paths a candidate's rules read: a record whose request had such a field
 * (the agent removed it from the log) cannot be replayed faithfully.
 *
 * The check is on the condition's text and errs towards "reads": a condition reads
 * `context.geo.city` when it names `context` and every key on the path (as an identifier or
 * a quoted string: `context.geo.city`, `has(context.geo.city)`, `context["geo"]["city"]`),
 * or uses `context` whole (`size(context)`, `context == {}`). A false "reads" only costs a
 * record reported as not replayable; a false "does not read" would report a wrong verdict.
 */
export class MaskedReads {
  private readonly conditions: string[];
  private readonly cache = new Map<string, boolean>();

  constructor(policySet: CompiledPolicySet) {
    this.conditions = policySet.policies.flatMap((policy) =>
      policy.rules.flatMap((rule) => (rule.when === undefined ? [] : [rule.when])),
    );
  }

  /** The paths of `masked` some rule reads (empty: the record can be replayed). */
  read(masked: readonly string[]): string[] {
    return masked.filter((path) => this.reads(path));
  }

  private reads(path: string): boolean {
    let reads = this.cache.get(path);
    if (reads === undefined) {
      reads = STRUCTURAL.has(path) || this.conditions.some((when) => conditionReads(when, path));
      this.cache.set(path, reads);
    }
    return reads;
  }
}

/** Whether the condition text may read `path` (see {@link MaskedReads}). */
export function conditionReads(when: string, path: string): boolean {
  const [root, ...keys] = path.split('.');
  if (root === undefined) return false;
  const tokens = new Set(when.match(IDENTIFIER) ?? []);
  if (!tokens.has(root)) return false;
  // The root used whole: not followed by a field or index access.
  const whole = new RegExp(`(^|[^A-Za-z0-9_.])${root}(?![A-Za-z0-9_])(?!\\s*[.[])`);
  if (whole.test(when)) return true;
  return keys.every(
    (key) => tokens.has(key) || when.includes(`"${key}"`) || when.includes(`'${key}'`),
  );
}
