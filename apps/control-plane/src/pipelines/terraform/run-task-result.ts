import type {
  CheckRequest,
  CheckResponse,
  TerraformTaskOutcome,
  TerraformTaskResult,
} from '@stepgate/protocol';
import { describeRequirement, satisfyHints } from '../../step-up/satisfy.js';

/**
 * The bodies Stepgate PATCHes to a run task's callback URL ("Run Task Callback" in the run
 * tasks integration API): an overall status and message, and one outcome per policy rule that
 * decided, so the run's page in HCP Terraform shows which rule passed or stopped it and why.
 */

/** A decision as the control plane's check returns it (and a pipeline gate stores it). */
type Decision = CheckResponse['decision'];
type DecisionRequest = CheckRequest;
type Effect = Decision['effect'];

/** Where people act on a step-up: the console's elevation and approvals pages. */
export interface ConsoleLinks {
  /** The control plane's public URL (STEPGATE_PUBLIC_URL). */
  publicUrl: string;
}

const STATUS_TAG: Record<Effect, { label: string; level: 'info' | 'warning' | 'error' }> = {
  allow: { label: 'Allowed', level: 'info' },
  deny: { label: 'Denied', level: 'error' },
  step_up: { label: 'Step-up needed', level: 'warning' },
};

/** A short summary of what was decided: who, what, where, which resource types. */
function requestSummary(request: DecisionRequest): string {
  const changes = request.resource.attributes?.changes;
  const types = Array.isArray(changes) && changes.length > 0 ? changes.join(', ') : 'none';
  return [
    `- principal: \`${request.principal.id}\` (roles: ${request.principal.roles?.join(', ') || 'none'}; groups: ${request.principal.groups?.join(', ') || 'none'})`,
    `- action: \`${request.action}\``,
    `- workspace: \`${request.resource.id}\` in organization \`${String(request.resource.attributes?.organization ?? '')}\``,
    `- resource types changed: ${types}`,
  ].join('\n');
}

/** One outcome per reason (the rules that decided), plus one per rule that failed to evaluate. */
export function decisionOutcomes(
  decision: Decision,
  request: DecisionRequest,
  url?: string,
): TerraformTaskOutcome[] {
  const summary = requestSummary(request);
  const outcomes: TerraformTaskOutcome[] = decision.reasons.map((reason) => {
    const id = `${reason.policy}/${reason.rule}`;
    const tag = STATUS_TAG[reason.effect];
    return {
      type: 'task-result-outcomes',
      attributes: {
        'outcome-id': id,
        description: `${tag.label} by ${id}${reason.message ? `: ${reason.message}` : ''}`.slice(
          0,
          500,
        ),
        body: [
          `## ${tag.label}: ${id}`,
          '',
          reason.message ?? `The rule's effect is ${reason.effect}.`,
          '',
          '### The request Stepgate decided',
          '',
          summary,
          '',
          `Policy revision ${decision.revision}, decision ${decision.decisionId}.`,
        ].join('\n'),
        tags: { Status: [tag], Policy: [{ label: reason.policy }] },
        ...(url ? { url } : {}),
      },
    };
  });
  for (const error of decision.errors ?? [])
    outcomes.push({
      type: 'task-result-outcomes',
      attributes: {
        'outcome-id': `${error.policy}/${error.rule}#error`,
        description:
          `The condition of ${error.policy}/${error.rule} failed: ${error.message}`.slice(0, 500),
        tags: { Status: [{ label: 'Error', level: 'error' }] },
      },
    });
  return outcomes;
}

function result(
  status: 'running' | 'passed' | 'failed',
  message: string,
  outcomes: TerraformTaskOutcome[],
  url?: string,
): TerraformTaskResult {
  return {
    data: {
      type: 'task-results',
      attributes: { status, message, ...(url ? { url } : {}) },
      ...(outcomes.length > 0 ? { relationships: { outcomes: { data: outcomes } } } : {}),
    },
  };
}

const ruleList = (decision: Decision) =>
  decision.reasons.map((reason) => `${reason.policy}/${reason.rule}`).join(', ');

/** `passed` for allow, `failed` with the reasons for deny. */
export function decidedResult(
  decision: Decision,
  request: DecisionRequest,
  links: ConsoleLinks,
): TerraformTaskResult {
  const target = `${request.action} on ${request.resource.id} for ${request.principal.id}`;
  const url = `${links.publicUrl}/console/decisions`;
  if (decision.effect === 'allow')
    return result(
      'passed',
      `Stepgate allowed ${target} (${ruleList(decision) || 'default effect'}).`,
      decisionOutcomes(decision, request),
    );
  const why = decision.reasons
    .map((reason) => reason.message ?? `${reason.policy}/${reason.rule}`)
    .join(' ');
  return result(
    'failed',
    `Stepgate denied ${target}: ${why || 'no policy allows it.'}`,
    decisionOutcomes(decision, request),
    url,
  );
}

/** What the run's creator has to do, in words and commands, for a step-up. */
export function stepUpInstructions(
  decision: Decision,
  request: DecisionRequest,
  links: ConsoleLinks,
  approvalRequestId?: string,
): string {
  const require = decision.require ?? {};
  const hints = satisfyHints(
    require,
    request.action,
    request.resource.id,
    request.principal,
    decision.unmet,
  );
  const steps: string[] = [];
  if (hints.elevate) {
    const level = require.level ? ` to ${require.level}` : '';
    steps.push(
      `${request.principal.id} must elevate${level}: \`${hints.elevate}\`${require.level === 'phishing_resistant' ? ' with a security key' : ''}, or in the console at ${links.publicUrl}/console/elevation`,
    );
  }
  if (hints.approvals !== undefined) {
    const count = `${hints.approvals} approval${hints.approvals === 1 ? '' : 's'}`;
    steps.push(
      approvalRequestId
        ? `ask ${count} from approvers (Stepgate's approver scope; not ${request.principal.id}): \`npx stepgate approve ${approvalRequestId}\`, or in the console at ${links.publicUrl}/console/approvals`
        : `get ${count} from approvers (Stepgate's approver scope; not ${request.principal.id}): \`${hints.request}\`, then an approver runs \`npx stepgate approve <id>\` or approves in the console at ${links.publicUrl}/console/approvals`,
    );
  }
  return steps.join('; then ');
}

/** `running` while the step-up is missing: exactly what to do, and until when. */
export function pendingResult(
  decision: Decision,
  request: DecisionRequest,
  links: ConsoleLinks,
  expiresAt: Date,
  approvalRequestId?: string,
): TerraformTaskResult {
  const needed = describeRequirement(decision.require ?? {});
  return result(
    'running',
    `Step-up needed for ${request.action} on ${request.resource.id} (${needed}): ${stepUpInstructions(decision, request, links, approvalRequestId)}. The run waits until ${expiresAt.toISOString()}.`,
    decisionOutcomes(decision, request),
    `${links.publicUrl}/console/${decision.unmet?.includes('approvals') && decision.unmet.length === 1 ? 'approvals' : 'elevation'}`,
  );
}

/** `failed` when the step-up did not come in time. */
export function expiredResult(
  decision: Decision | undefined,
  request: DecisionRequest,
  expiresAt: Date,
): TerraformTaskResult {
  const needed = decision?.require ? ` (${describeRequirement(decision.require)})` : '';
  return result(
    'failed',
    `Stepgate: the step-up${needed} for ${request.action} on ${request.resource.id} by ${request.principal.id} was not satisfied by ${expiresAt.toISOString()}; start a new run after stepping up.`,
    decision ? decisionOutcomes(decision, request) : [],
  );
}

/** `failed` when Stepgate could not decide (no plan JSON, no active policies...): fail closed. */
export function errorResult(message: string): TerraformTaskResult {
  return result('failed', `Stepgate could not decide this run: ${message}`, []);
}
