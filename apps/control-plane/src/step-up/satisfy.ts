import type { Requirement, RequirementPart } from '@stepgate/policy';

/**
 * How to meet an unmet step-up requirement, as commands the user can run: `elevate` for a
 * level or freshness gap, `request` (with the approvals needed) for an approval gap.
 */
export interface Satisfy {
  elevate?: string;
  request?: string;
  approvals?: number;
}

/** Shell-quotes a value only when it needs it, so the common case reads naturally. */
export function shellArg(value: string): string {
  return /^[A-Za-z0-9_:/.@%+=,*-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The commands that meet `require` (the complete requirement) for `action` on `resourceId`:
 * only those for the `unmet` parts (every part when it is not given), so a user whose login
 * is fresh enough is not sent to elevate. The request names the roles and groups the decision
 * saw: the control plane decides the approval request with them to find how many approvals it
 * needs, so without them it may find nothing to approve.
 */
export function satisfyHints(
  require: Requirement,
  action: string,
  resourceId: string,
  principal: { roles?: readonly string[]; groups?: readonly string[] } = {},
  unmet?: readonly RequirementPart[],
): Satisfy {
  const target = `--action ${shellArg(action)} --resource ${shellArg(resourceId)}`;
  const satisfy: Satisfy = {};
  const due = (part: RequirementPart) =>
    require[part] !== undefined && (unmet?.includes(part) ?? true);
  if (due('level') || due('maxAge')) satisfy.elevate = `npx stepgate elevate ${target}`;
  if (require.approvals !== undefined && due('approvals')) {
    const who = [
      ...(principal.roles ?? []).map((role) => ` --role ${shellArg(role)}`),
      ...(principal.groups ?? []).map((group) => ` --group ${shellArg(group)}`),
    ].join('');
    satisfy.request = `npx stepgate request ${target}${who} --reason '<why>'`;
    satisfy.approvals = require.approvals;
  }
  return satisfy;
}

/** `level mfa, within 10m, 1 approval` for messages. */
export function describeRequirement(require: Requirement): string {
  const parts: string[] = [];
  if (require.level !== undefined) parts.push(`level ${require.level}`);
  if (require.maxAge !== undefined)
    parts.push(`authenticated within ${formatSeconds(require.maxAge)}`);
  if (require.approvals !== undefined)
    parts.push(`${require.approvals} approval${require.approvals === 1 ? '' : 's'}`);
  return parts.join(', ');
}

function formatSeconds(total: number): string {
  if (total % 3600 === 0 && total > 0) return `${total / 3600}h`;
  if (total % 60 === 0 && total > 0) return `${total / 60}m`;
  return `${total}s`;
}
