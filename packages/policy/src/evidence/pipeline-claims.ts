import type { ClaimShape } from '../model.js';

/**
 * Where each normalized pipeline attribute comes from in a CI system's OIDC token: GitHub
 * Actions (docs.github.com, "About security hardening with OpenID Connect") and GitLab CI
 * (docs.gitlab.com, "OpenID Connect (OIDC) Authentication Using ID Tokens"). The first claim
 * present wins. Policies see the same names for both, e.g. `principal.attributes.repository`.
 */
const SOURCES: Record<ClaimShape, Record<PipelineAttribute, readonly string[]>> = {
  'github-actions': {
    repository: ['repository'],
    owner: ['repository_owner'],
    environment: ['environment'],
    ref: ['ref'],
    ref_type: ['ref_type'],
    ref_protected: ['ref_protected'],
    sha: ['sha'],
    actor: ['actor'],
    event: ['event_name'],
    workflow_ref: ['job_workflow_ref', 'workflow_ref'],
    run_id: ['run_id'],
  },
  'gitlab-ci': {
    repository: ['project_path'],
    owner: ['namespace_path'],
    environment: ['environment'],
    ref: ['ref_path'],
    ref_type: ['ref_type'],
    ref_protected: ['ref_protected'],
    sha: ['sha'],
    actor: ['user_login'],
    event: ['pipeline_source'],
    workflow_ref: ['ci_config_ref_uri'],
    run_id: ['pipeline_id'],
  },
};

/** The attributes a pipeline token gives its principal, whichever CI system issued it. */
export type PipelineAttribute =
  | 'repository'
  | 'owner'
  | 'environment'
  | 'ref'
  | 'ref_type'
  | 'ref_protected'
  | 'sha'
  | 'actor'
  | 'event'
  | 'workflow_ref'
  | 'run_id';

/**
 * The principal attributes of a CI job's token: `platform` (the shape) and the attributes
 * above, each only when its claim is a non-empty string (numbers for run ids are taken as
 * strings). `ref` is always the full ref (`refs/heads/main`): GitLab's `ref` is the short
 * name, so without `ref_path` it is rebuilt from `ref_type` and `ref`. `ref_protected` is a
 * boolean (both systems send the string "true" or "false").
 */
export function pipelineAttributes(
  shape: ClaimShape,
  payload: Record<string, unknown>,
): Record<string, unknown> {
  const attributes: Record<string, unknown> = { platform: shape };
  for (const [name, claims] of Object.entries(SOURCES[shape])) {
    for (const claim of claims) {
      const value = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
      const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      if (typeof text === 'string' && text !== '') {
        attributes[name] = text;
        break;
      }
    }
  }
  if (attributes.ref === undefined && shape === 'gitlab-ci') {
    const short = payload.ref;
    const kind = payload.ref_type;
    if (typeof short === 'string' && short !== '' && (kind === 'branch' || kind === 'tag'))
      attributes.ref = `refs/${kind === 'branch' ? 'heads' : 'tags'}/${short}`;
  }
  if (attributes.ref_protected !== undefined)
    attributes.ref_protected = attributes.ref_protected === 'true';
  return attributes;
}
