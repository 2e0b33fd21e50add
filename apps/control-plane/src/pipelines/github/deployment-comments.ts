import type { CheckResponse } from '@stepgate/protocol';
import type { PipelineGate, PipelineGateOutcome } from '../../pipeline-gates/pipeline-gate.js';
import { describeRequirement, shellArg } from '../../step-up/satisfy.js';

/** GitHub keeps at most this many characters of a status report or review comment. */
export const GITHUB_COMMENT_LIMIT = 1024;

function rules(response: CheckResponse): string {
  return response.decision.reasons
    .map((reason) =>
      // The bundle's default effect decided: no rule matched at all.
      reason.policy === '(default)'
        ? `no policy allows it (the default is ${reason.effect})`
        : `${reason.policy}/${reason.rule}${reason.message ? `: ${reason.message.trim()}` : ''}`,
    )
    .join('; ');
}

function fit(text: string): string {
  return text.length <= GITHUB_COMMENT_LIMIT ? text : `${text.slice(0, GITHUB_COMMENT_LIMIT - 1)}…`;
}

function what(gate: PipelineGate): string {
  const attributes = gate.input.resource.attributes as {
    repository?: string;
    environment?: string;
  };
  return `Deploy of ${attributes.repository ?? gate.input.resource.id} to ${attributes.environment ?? gate.input.resource.id} by @${gate.principal}`;
}

/**
 * The status report while the deployment waits: what is missing and exactly what to do, with
 * the elevation command, the approval request's id and the console link.
 */
export function pendingComment(
  gate: PipelineGate,
  response: CheckResponse,
  publicUrl: string,
): string {
  const decision = response.decision;
  const unmet = new Set(decision.unmet ?? ['level', 'maxAge', 'approvals']);
  const lines = [
    `**Stepgate: waiting for a step-up.** ${what(gate)} needs ${decision.require ? describeRequirement(decision.require) : 'a step-up'} (${rules(response)}).`,
  ];
  const target = `--action ${shellArg(gate.input.action)} --resource ${shellArg(gate.input.resource.id)}`;
  if (unmet.has('level') || unmet.has('maxAge'))
    lines.push(`- @${gate.principal}: elevate with \`npx stepgate elevate ${target}\`.`);
  if (unmet.has('approvals')) {
    const count = decision.require?.approvals ?? 1;
    const ask = `${count} approver${count === 1 ? '' : 's'} other than @${gate.principal}`;
    lines.push(
      gate.approvalRequestId
        ? `- Ask ${ask} to approve at ${publicUrl}/console/approvals or with \`npx stepgate approve ${gate.approvalRequestId}\`.`
        : `- Ask ${ask}: open a request with \`npx stepgate request ${target} --reason '<why>'\`, approvers see it at ${publicUrl}/console/approvals.`,
    );
  }
  lines.push(
    `The deployment proceeds as soon as this is met; it is rejected at ${gate.expiresAt.toISOString()}.`,
  );
  return fit(lines.join('\n'));
}

/** The comment of the final review: why it was approved or rejected. */
export function outcomeComment(gate: PipelineGate, outcome: PipelineGateOutcome): string {
  const decision = outcome.decision?.decision;
  const reference = decision
    ? ` (decision ${decision.decisionId}, policy revision ${decision.revision})`
    : '';
  switch (outcome.effect) {
    case 'allow':
      return fit(
        `**Stepgate: approved.** ${what(gate)} is allowed by ${outcome.decision ? rules(outcome.decision) : 'the policies'}${reference}.`,
      );
    case 'deny':
      return fit(
        `**Stepgate: rejected.** ${what(gate)} is refused: ${outcome.reason ?? (outcome.decision ? rules(outcome.decision) : 'the policies deny it')}${reference}.`,
      );
    case 'expired':
      return fit(
        `**Stepgate: rejected, the step-up was not met in time.** ${what(gate)} still needed ${decision?.require ? describeRequirement(decision.require) : 'a step-up'} at ${gate.expiresAt.toISOString()}${reference}. Re-run the job to try again.`,
      );
  }
}
