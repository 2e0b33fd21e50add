/**
 * What a Terraform plan changes, read from its JSON form (`terraform show -json`, the document
 * HCP Terraform serves at `plan_json_api_url`): the resource types of `resource_changes` per
 * action. Documented in "JSON Output Format" (https://developer.hashicorp.com/terraform/internals/json-format):
 * each entry has `mode` (`managed` or `data`), `type` and `change.actions`, one of `["no-op"]`,
 * `["create"]`, `["read"]`, `["update"]`, `["delete", "create"]`, `["create", "delete"]`,
 * `["delete"]` or `["forget"]`.
 */
export interface PlanChanges {
  /** Every resource type the plan creates, updates, deletes, replaces or forgets. */
  changes: string[];
  creates: string[];
  updates: string[];
  deletes: string[];
}

export class PlanJsonError extends Error {}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Actions that leave the infrastructure as it is: a read of a data source, or nothing. */
const UNCHANGED = new Set(['no-op', 'read']);

/**
 * The resource types the plan changes, sorted and without repeats. Data sources (`mode: data`)
 * only read, so they never count. A document that is not a plan is refused rather than read
 * as "no changes": deciding on it would let any plan through.
 */
export function planChanges(plan: unknown): PlanChanges {
  if (!isRecord(plan) || typeof plan.format_version !== 'string')
    throw new PlanJsonError('the plan JSON has no format_version: it is not a Terraform plan');
  const entries = plan.resource_changes ?? [];
  if (!Array.isArray(entries))
    throw new PlanJsonError('resource_changes in the plan JSON is not a list');
  const sets = {
    changes: new Set<string>(),
    creates: new Set<string>(),
    updates: new Set<string>(),
    deletes: new Set<string>(),
  };
  entries.forEach((entry: unknown, index) => {
    const change = isRecord(entry) ? entry.change : undefined;
    const actions = isRecord(change) ? change.actions : undefined;
    if (
      !isRecord(entry) ||
      typeof entry.type !== 'string' ||
      !Array.isArray(actions) ||
      actions.some((action) => typeof action !== 'string')
    )
      throw new PlanJsonError(
        `resource_changes[${index}] has no type or change.actions: not a Terraform plan entry`,
      );
    if (entry.mode === 'data') return;
    const acts = actions as string[];
    if (acts.every((action) => UNCHANGED.has(action))) return;
    sets.changes.add(entry.type);
    if (acts.includes('create')) sets.creates.add(entry.type);
    if (acts.includes('update')) sets.updates.add(entry.type);
    if (acts.includes('delete') || acts.includes('forget')) sets.deletes.add(entry.type);
  });
  const sorted = (set: Set<string>) => [...set].sort();
  return {
    changes: sorted(sets.changes),
    creates: sorted(sets.creates),
    updates: sorted(sets.updates),
    deletes: sorted(sets.deletes),
  };
}
