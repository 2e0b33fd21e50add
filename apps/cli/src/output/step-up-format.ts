import type { ApprovalView, CheckBody, CheckResponse, GrantView } from '@stepgate/protocol';
import { formatDuration } from '../config/step-up-options.js';
import { formatTable, formatUtc, printable, type Column } from './table.js';

/** Exit codes of check and exec: a verdict, never an error. */
export const EXIT_ALLOW = 0;
export const EXIT_DENY = 1;
/** Usage errors and failures to reach or understand the control plane. */
export const EXIT_ERROR = 2;
export const EXIT_STEP_UP = 3;

/** A step-up requirement, complete (met parts included), as `POST /v1/check` reports it. */
type Requirement = NonNullable<CheckResponse['decision']['require']>;
type RequirementPart = NonNullable<CheckResponse['decision']['unmet']>[number];

/**
 * Whether `part` of the decision's requirement is still to do. A control plane that sends no
 * `unmet` (older than complete requirements) sent only the unmet parts as `require`.
 */
export function isUnmet(decision: CheckResponse['decision'], part: RequirementPart): boolean {
  const require = decision.require;
  if (require === undefined || require[part] === undefined) return false;
  return decision.unmet?.includes(part) ?? true;
}

const PART_NAMES: Record<RequirementPart, string> = {
  level: 'level',
  maxAge: 'fresh authentication',
  approvals: 'approvals',
};

/**
 * `level mfa (authenticated within 15m), 1 approval`; with the unmet parts, when some part is
 * already met: `level mfa (authenticated within 15m); missing: fresh authentication`.
 */
export function describeRequirement(
  require: Requirement | undefined,
  unmet?: readonly RequirementPart[],
): string {
  if (require === undefined) return 'stronger authentication';
  const present = (['level', 'maxAge', 'approvals'] as const).filter(
    (part) => require[part] !== undefined,
  );
  const missing =
    unmet !== undefined && present.some((part) => !unmet.includes(part))
      ? `; missing: ${present
          .filter((part) => unmet.includes(part))
          .map((part) => PART_NAMES[part])
          .join(', ')}`
      : '';
  return describeParts(require) + missing;
}

function describeParts(require: Requirement): string {
  const parts: string[] = [];
  const age =
    require.maxAge === undefined ? '' : `authenticated within ${formatDuration(require.maxAge)}`;
  if (require.level !== undefined) {
    parts.push(`level ${printable(require.level)}${age === '' ? '' : ` (${age})`}`);
  } else if (age !== '') parts.push(`fresh authentication (${age})`);
  if (require.approvals !== undefined && require.approvals > 0) {
    parts.push(`${require.approvals} approval${require.approvals === 1 ? '' : 's'}`);
  }
  return parts.length === 0 ? 'stronger authentication' : parts.join(', ');
}

/**
 * `terraform:apply on terraform:prod/billing for alice`: the principal the control plane
 * decided for (its answer), else the one asked about, else the token's.
 */
export function describeRequest(input: CheckBody, result?: CheckResponse): string {
  const who = result?.principal?.id ?? input.principal?.id;
  return printable(
    `${input.action} on ${input.resource.kind}:${input.resource.id}${who === undefined ? '' : ` for ${who}`}`,
  );
}

/** Quotes an argument for a copy-pasteable shell command when it needs it. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The commands that close a step-up gap: the control plane's suggestions when it sends them,
 * else ones built from the request (elevate for a level or freshness, request for approvals).
 */
export function satisfyCommands(result: CheckResponse, input: CheckBody): string[] {
  const { decision } = result;
  const commands: string[] = [];
  const resource = `${input.resource.kind}:${input.resource.id}`;
  const needsFactor =
    decision.require === undefined || isUnmet(decision, 'level') || isUnmet(decision, 'maxAge');
  const needsApprovals = isUnmet(decision, 'approvals') && (decision.require?.approvals ?? 0) > 0;
  if (result.satisfy?.elevate !== undefined) commands.push(result.satisfy.elevate);
  else if (needsFactor) {
    commands.push(
      `npx stepgate elevate --action ${shellQuote(input.action)} --resource ${shellQuote(input.resource.id)}`,
    );
  }
  if (result.satisfy?.request !== undefined) commands.push(result.satisfy.request);
  else if (needsApprovals) {
    commands.push(
      `npx stepgate request --action ${shellQuote(input.action)} --resource ${shellQuote(resource)} --reason '<why>'`,
    );
  }
  return commands.map(printable);
}

/** The human answer of `check`: the verdict line, the reasons, and for step-up how to get there. */
export function formatCheck(result: CheckResponse, input: CheckBody): string {
  const { decision } = result;
  const what = describeRequest(input, result);
  const lines: string[] = [];
  // Asked about another principal (check:any): their grants did not count.
  const note = result.note === undefined ? [] : [`  note: ${printable(result.note)}`];
  if (decision.effect === 'allow') {
    lines.push(`ALLOW ${what} (revision ${decision.revision})`, ...note);
    return lines.join('\n');
  }
  if (decision.effect === 'deny') {
    lines.push(`DENY ${what} (revision ${decision.revision})`);
  } else {
    lines.push(`STEP-UP NEEDED ${what}: ${describeRequirement(decision.require, decision.unmet)}`);
  }
  lines.push(...note);
  for (const reason of decision.reasons) {
    if (reason.effect !== decision.effect) continue;
    const message = reason.message === undefined ? '' : `: ${reason.message}`;
    lines.push(`  ${printable(`${reason.policy}/${reason.rule}${message}`)}`);
  }
  if (decision.effect === 'deny' && decision.reasons.length === 0) {
    lines.push('  no policy allows it (default deny)');
  }
  if (decision.effect === 'step_up' && result.grantsApplied !== false) {
    lines.push('To satisfy it:');
    for (const command of satisfyCommands(result, input)) lines.push(`  ${command}`);
  }
  return lines.join('\n');
}

/** `terraform:apply on prod/**` / `* on **` */
export function describeScope(grant: Pick<GrantView, 'actions' | 'resources'>): string {
  return `${grant.actions.join(',')} on ${grant.resources.join(',')}`;
}

function strength(grant: GrantView): string {
  if (grant.kind === 'approval') return `approved by ${grant.approvals.join(',') || '-'}`;
  // Elevations carry the proven methods (RFC 8176); the bundle's levels map them to a level.
  const amr = grant.amr.length === 0 ? grant.method : `amr ${grant.amr.join(',')}`;
  return grant.level === null ? amr : `${grant.level} (${amr})`;
}

function grantState(grant: GrantView, now: number): string {
  if (grant.revokedAt !== null) return `revoked ${formatUtc(grant.revokedAt)}`;
  return Date.parse(grant.expiresAt) <= now
    ? `expired ${formatUtc(grant.expiresAt)}`
    : formatUtc(grant.expiresAt);
}

export function formatGrantTable(grants: readonly GrantView[], now = Date.now()): string {
  const columns: Column<GrantView>[] = [
    { header: 'ID', value: (g) => g.id },
    { header: 'SUBJECT', value: (g) => g.subject, maxWidth: 32 },
    { header: 'KIND', value: (g) => g.kind },
    { header: 'SCOPE', value: describeScope, maxWidth: 60 },
    { header: 'LEVEL/AMR', value: strength, maxWidth: 40 },
    { header: 'EXPIRES (UTC)', value: (g) => grantState(g, now) },
  ];
  return formatTable(columns, grants);
}

/** A new grant, for `elevate`. */
export function formatGrant(grant: GrantView): string {
  return [
    `Elevated: grant ${printable(grant.id)}`,
    `  subject  ${printable(grant.subject)}`,
    `  proof    ${printable(strength(grant))}`,
    `  scope    ${printable(describeScope(grant))}`,
    `  expires  ${formatUtc(grant.expiresAt, true)} UTC`,
  ].join('\n');
}

function approvalProgress(approval: ApprovalView): string {
  return `${approval.approvals.length}/${approval.required}`;
}

export function formatApprovalTable(approvals: readonly ApprovalView[]): string {
  const columns: Column<ApprovalView>[] = [
    { header: 'ID', value: (a) => a.id },
    { header: 'REQUESTER', value: (a) => a.requester, maxWidth: 32 },
    { header: 'ACTION', value: (a) => a.action, maxWidth: 40 },
    { header: 'RESOURCE', value: (a) => `${a.resource.kind}:${a.resource.id}`, maxWidth: 48 },
    { header: 'APPROVALS', value: approvalProgress, align: 'right' },
    { header: 'EXPIRES (UTC)', value: (a) => formatUtc(a.expiresAt) },
    { header: 'REASON', value: (a) => a.reason, maxWidth: 60 },
  ];
  return formatTable(columns, approvals);
}

/** One approval request in detail (after create, approve or deny). */
export function formatApproval(approval: ApprovalView): string {
  const lines = [
    `Approval request ${printable(approval.id)}: ${approval.status} (${approvalProgress(approval)} approvals)`,
    `  requester  ${printable(approval.requester)}`,
    `  action     ${printable(approval.action)} on ${printable(`${approval.resource.kind}:${approval.resource.id}`)}`,
    `  reason     ${printable(approval.reason)}`,
    `  expires    ${formatUtc(approval.expiresAt, true)} UTC`,
  ];
  for (const given of approval.approvals) {
    const comment = given.comment === null ? '' : `: ${given.comment}`;
    lines.push(`  approved   by ${printable(`${given.approver}${comment}`)}`);
  }
  if (approval.deniedBy !== null) {
    const comment = approval.denialComment === null ? '' : `: ${approval.denialComment}`;
    lines.push(`  denied     by ${printable(`${approval.deniedBy}${comment}`)}`);
  }
  if (approval.grantId !== null) lines.push(`  grant      ${printable(approval.grantId)}`);
  return lines.join('\n');
}
