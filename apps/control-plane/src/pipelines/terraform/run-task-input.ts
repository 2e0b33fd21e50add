import type { DecisionRequest } from '@stepgate/policy';
import type { TerraformRunTaskRequest } from '@stepgate/protocol';
import { peopleRoles } from '../../step-up/check-principal.js';
import type { PlanChanges } from './plan-changes.js';

/** The resource kind of a Terraform workspace, as the example policies name it. */
export const TERRAFORM_WORKSPACE_KIND = 'terraform:workspace';

/**
 * The decision request for a run at a plan stage: the run's creator as principal (roles and
 * groups from the policy data), `terraform:apply` (`terraform:plan` for a speculative run,
 * which can never apply), the workspace as resource with the plan's changed resource types,
 * shaped as the example `terraform-production-apply` policy reads them:
 * `resource.attributes.changes`.
 */
export function runTaskDecisionRequest(
  run: TerraformRunTaskRequest,
  plan: PlanChanges,
  data: Readonly<Record<string, unknown>>,
): DecisionRequest {
  // Roles and groups from the policy data, never from the request: HCP Terraform vouches for
  // who created the run, not for what that person may do.
  const person = peopleRoles(data, run.run_created_by);
  return {
    principal: { id: run.run_created_by, roles: person.roles, groups: person.groups },
    action: run.is_speculative ? 'terraform:plan' : 'terraform:apply',
    resource: {
      kind: TERRAFORM_WORKSPACE_KIND,
      id: run.workspace_name,
      attributes: {
        organization: run.organization_name,
        workspace: run.workspace_name,
        changes: plan.changes,
        creates: plan.creates,
        updates: plan.updates,
        deletes: plan.deletes,
      },
    },
    context: {
      pipeline: 'terraform',
      runId: run.run_id,
      stage: run.stage,
      ...(run.vcs_branch ? { vcsBranch: run.vcs_branch } : {}),
      ...(run.vcs_repo_url ? { vcsRepository: run.vcs_repo_url } : {}),
    },
  };
}
