import {
  activateRequestSchema,
  activationResponseSchema,
  agentsResponseSchema,
  livenessSchema,
  readinessSchema,
  sourcesResponseSchema,
  syncQueuedSchema,
  tokensResponseSchema,
  approvalDecisionRequestSchema,
  approvalSchema,
  approvalsResponseSchema,
  auditResponseSchema,
  checkResponseSchema,
  consoleConfigResponseSchema,
  createApprovalRequestSchema,
  createdEnrolmentCodeSchema,
  createEnrolmentCodeRequestSchema,
  createSourceRequestSchema,
  createTokenRequestSchema,
  createTokenResponseSchema,
  decisionSchema,
  decisionStatsSchema,
  decisionTimelineSchema,
  decisionsResponseSchema,
  enrolmentCodesResponseSchema,
  errorResponseSchema,
  fleetSchema,
  grantSchema,
  grantsResponseSchema,
  revokeGrantRequestSchema,
  rollbackRequestSchema,
  shadowOffResponseSchema,
  shadowReportSchema,
  shadowRequestSchema,
  shadowResponseSchema,
  totpConfirmRequestSchema,
  totpConfirmResponseSchema,
  totpElevateRequestSchema,
  totpEnrollRequestSchema,
  totpEnrollResponseSchema,
  versionDetailSchema,
  versionDiffResponseSchema,
  versionsResponseSchema,
  checkBodySchema,
  terraformRunTaskRequestSchema,
  githubDeploymentProtectionRuleSchema,
  githubWebhookResultSchema,
  liveDataHistoryResponseSchema,
  dataSourceListResponseSchema,
  liveDataListResponseSchema,
  liveDataWriteResponseSchema,
  liveDocumentResponseSchema,
  openApiPathParameters,
  localReplayRequestSchema,
  replayRequestSchema,
  replaySchema,
  replayStartedSchema,
  cloudEventSchema,
  EVENTS_MAX_BATCH,
  eventsIngestResponseSchema,
  plainEventSchema,
  subjectSignalsResponseSchema,
  webauthnAuthenticationOptionsRequestSchema,
  webauthnRegistrationOptionsRequestSchema,
  webauthnResponseRequestSchema,
} from '@stepgate/protocol';
import { z } from 'zod';

interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  scopes: string[] | 'public' | 'webhook';
  /** How a `webhook` route is authenticated, when not by the Git forges' signatures. */
  description?: string;
  body?: z.ZodType;
  response?: z.ZodType;
  status?: number;
}

/** Every admin route, described once from the protocol's zod schemas. */
const ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/versions',
    summary: 'List policy versions, newest first',
    scopes: ['viewer', 'operator'],
    response: versionsResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/versions/{ref}',
    summary:
      'One version (number, id or sha prefix) with its errors, test report, the impact of its sync replay (replay) and why the activation gate holds it (activationHeld)',
    scopes: ['viewer', 'operator'],
    response: versionDetailSchema,
  },
  {
    method: 'get',
    path: '/v1/versions/{ref}/diff',
    summary:
      'Unified diffs of every file of the policy folder (all files, not only those the compiler reads) that differs between two versions (query: against, a version number, id or sha prefix; default the version numbered before ref, none: an empty tree, from: null), sorted by path; unchanged files are left out. Files over 1 MiB or patches over 256 KiB carry truncated: true and no patch, binary files binary: true; 404 version/not_found names an unknown ref',
    scopes: ['viewer', 'operator'],
    response: versionDiffResponseSchema,
  },
  {
    method: 'post',
    path: '/v1/versions/{ref}/activate',
    summary:
      'Make a ready version active; a version the activation gate holds (activationHeld in its detail) needs a reason, audited with its replay figures (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:activate on kind stepgate)',
    scopes: ['operator'],
    body: activateRequestSchema,
    response: activationResponseSchema,
  },
  {
    method: 'post',
    path: '/v1/rollback',
    summary:
      'Re-activate the previous (or a given) version; needs no Git (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:rollback on kind stepgate)',
    scopes: ['operator'],
    body: rollbackRequestSchema,
    response: activationResponseSchema,
  },
  {
    method: 'post',
    path: '/v1/versions/{ref}/shadow',
    summary:
      'Run a version in dry-run beside the active one (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:shadow on kind stepgate)',
    scopes: ['operator'],
    body: shadowRequestSchema,
    response: shadowResponseSchema,
  },
  {
    method: 'post',
    path: '/v1/versions/{ref}/replay',
    summary:
      'Replay the logged decisions of a window (since, until: default now; at most 31 days; filter by principal, action, effect, agentId) with a ready version: a background job (202 with the replay id) decides each record again with what it had (masked input, the verified evidence it used, the live data of its data revision, its signal values, its time) and compares with the recorded effect and requirement. Audited (replay.start)',
    scopes: ['operator'],
    body: replayRequestSchema,
    response: replayStartedSchema,
    status: 202,
  },
  {
    method: 'post',
    path: '/v1/replays',
    summary:
      'Replay the logged decisions of a window (as for a version: since, until, filter, examples) with a policy set the caller compiled (stepgate replay <dir>): policySet is checked as a stored set is read (400 request/invalid naming the path or the rule whose condition does not parse; at most 5000 rules, conditions up to 10000 characters), kept with the replay row, evaluated by the replay job only (it never becomes a version nor reaches an agent); the body is at most 1 MiB (413). 202 with the replay id, read with GET /v1/replays/{id} (version: null). Audited (replay.start)',
    scopes: ['operator'],
    body: localReplayRequestSchema,
    response: replayStartedSchema,
    status: 202,
  },
  {
    method: 'get',
    path: '/v1/replays/{id}',
    summary:
      'A replay: status (queued, running, done, failed, cancelled), progress (records read of the estimated total) and, once done, the result: totals, records not replayable by reason (recorded before replay, a masked field a candidate rule reads, fail mode, evaluation error), changes by from -> to effect or requirement tightened/loosened/changed, by rule, by principal and by action, each with examples',
    scopes: ['viewer', 'operator'],
    response: replaySchema,
  },
  {
    method: 'delete',
    path: '/v1/replays/{id}',
    summary:
      'Cancel a queued or running replay (a running one stops after its current page and keeps its partial result); an ended replay is returned as it is. Audited (replay.cancel)',
    scopes: ['operator'],
    response: replaySchema,
  },
  {
    method: 'delete',
    path: '/v1/shadow',
    summary: 'Stop the dry-run',
    scopes: ['operator'],
    body: shadowRequestSchema,
    response: shadowOffResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/audit',
    summary:
      'Audit events, newest first (query: action (the event type), actor, from, to, limit (1-500, default 50), cursor = nextCursor; action and actor take a trailing * as a prefix match)',
    scopes: ['viewer', 'operator'],
    response: auditResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/bundles/active',
    summary: 'The signed bundle (JWS) of the active version',
    scopes: ['agent', 'viewer', 'operator'],
  },
  {
    method: 'get',
    path: '/v1/bundles/shadow',
    summary: 'The signed bundle of the shadow version',
    scopes: ['agent', 'viewer', 'operator'],
  },
  {
    method: 'get',
    path: '/v1/keys',
    summary:
      'Bundle-signing public keys (JWKS) and `endorsements`: key sets signed by the previous key, which agents walk to accept a rotated key',
    scopes: 'public',
  },
  {
    method: 'post',
    path: '/v1/tokens',
    summary:
      'Create an API token (shown once) (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:tokens:create on kind stepgate). Agent tokens: agentId binds one agent id now; agentIdPrefix makes a fleet token admitting every agent id under the prefix (409 token/conflict when the id is held by a live token, or the prefix overlaps a live fleet token)',
    scopes: ['admin'],
    body: createTokenRequestSchema,
    response: createTokenResponseSchema,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/tokens',
    summary: 'List API tokens (never the secrets)',
    scopes: ['admin'],
    response: tokensResponseSchema,
  },
  {
    method: 'delete',
    path: '/v1/tokens/{id}',
    summary:
      'Revoke a token (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:tokens:delete (resource tokens/<id>) on kind stepgate)',
    scopes: ['admin'],
    status: 204,
  },
  {
    method: 'get',
    path: '/v1/sources',
    summary: 'Policy sources',
    scopes: ['viewer', 'operator'],
    response: sourcesResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/sources/{id}',
    summary: 'One policy source with its last sync (never its credentials or webhook secret)',
    scopes: ['viewer', 'operator'],
  },
  {
    method: 'post',
    path: '/v1/sources',
    summary:
      'Add a remote Git policy source (its head may be auto-activated) (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:sources:create (resource sources/<name>) on kind stepgate)',
    scopes: ['admin'],
    body: createSourceRequestSchema,
    status: 201,
  },
  {
    method: 'post',
    path: '/v1/sources/{id}/sync',
    summary:
      'Queue a sync now, recorded with the caller as its pusher (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:sync (resource sources/<id>) on kind stepgate)',
    scopes: ['operator'],
    status: 202,
    response: syncQueuedSchema,
  },
  {
    method: 'post',
    path: '/v1/webhooks/{sourceId}',
    summary: 'GitHub / GitLab / Gitea push webhook (HMAC or token verified)',
    scopes: 'webhook',
    status: 202,
  },
  {
    method: 'post',
    path: '/v1/integrations/github/webhook',
    summary:
      "GitHub App webhook of the custom deployment protection rule: a deployment_protection_rule delivery (action requested) opens a pipeline gate for the deployment creator; the run is reviewed approved/rejected through GitHub's review_custom_gates endpoint, with status reports while a step-up is missing (202 {status, gate}; ping → pong; other events ignored; 400 malformed, 401 bad signature, 404 not configured, 409 replayed X-GitHub-Delivery)",
    scopes: 'webhook',
    description:
      'Authenticated by X-Hub-Signature-256: sha256= and the hex HMAC-SHA256 of the body with STEPGATE_GITHUB_WEBHOOK_SECRET.',
    body: githubDeploymentProtectionRuleSchema,
    response: githubWebhookResultSchema,
    status: 202,
  },
  {
    method: 'post',
    path: '/v1/integrations/terraform/run-task',
    summary:
      'HCP Terraform / Terraform Enterprise run task request: acknowledged at once (200 {status: accepted}; {status: verified} for the verification request), decided in the background on the plan JSON, the result PATCHed to task_result_callback_url (400 malformed, 401 bad signature, 404 not configured, 409 replayed)',
    scopes: 'webhook',
    description:
      'Authenticated by X-TFC-Task-Signature: the hex HMAC-SHA512 of the body with STEPGATE_TERRAFORM_HMAC_KEY.',
    body: terraformRunTaskRequestSchema,
  },
  {
    method: 'get',
    path: '/v1/agents',
    summary: 'Agents with their labels, status and revisions (query: status, limit)',
    scopes: ['viewer', 'operator'],
    response: agentsResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/fleet',
    summary: 'Agents by revision, convergence on the active revision, propagation time',
    scopes: ['viewer', 'operator'],
    response: fleetSchema,
  },
  {
    method: 'get',
    path: '/v1/decisions',
    summary:
      'Decision logs, newest first (query: from, to, principal, action, resource, resourceKind, effect, revision, agent, rule, limit, cursor; text filters take a trailing * as a prefix match; rule is <policy>/<rule> of a rule that matched, or <policy>/* for any rule of the policy)',
    scopes: ['viewer', 'operator'],
    response: decisionsResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/decisions/stats',
    summary:
      'Counts by effect, top denied and stepped-up principals and rules (query: from, to; default the last 24 h)',
    scopes: ['viewer', 'operator'],
    response: decisionStatsSchema,
  },
  {
    method: 'get',
    path: '/v1/decisions/timeline',
    summary:
      'Decisions per time bucket by effect, every bucket included (query: from, to — default the last hour; bucket in seconds, default 60; buckets aligned on the Unix epoch; at most 1440 buckets, else 400)',
    scopes: ['viewer', 'operator'],
    response: decisionTimelineSchema,
  },
  {
    method: 'get',
    path: '/v1/decisions/{id}',
    summary:
      'One decision with everything recorded: input, effect, reasons, requirement, shadow verdict, revision, data revision, signals, replay part (verified evidence, masked paths), agent (404 decision/not_found for an unknown id, 400 for one that cannot be a decision id)',
    scopes: ['viewer', 'operator'],
    response: decisionSchema,
  },
  {
    method: 'get',
    path: '/v1/shadow/report',
    summary:
      'Where the shadow version diverges from the active one: counts, effect pairs, rules, examples (query: from, to, shadowRevision)',
    scopes: ['viewer', 'operator'],
    response: shadowReportSchema,
  },
  {
    method: 'post',
    path: '/v1/elevation/totp/enroll',
    summary:
      'Enrol a TOTP factor for the caller: secret + otpauth URI, unconfirmed until confirmed with its first code; a first factor needs {enrolmentCode} (401 elevation/enrolment_code_required / _invalid), a further one an elevation from the last 10 minutes; a confirmed factor is replaced only with {replace: true, code}. Grants nothing',
    scopes: ['viewer', 'operator', 'approver'],
    body: totpEnrollRequestSchema,
    response: totpEnrollResponseSchema,
    status: 201,
  },
  {
    method: 'post',
    path: '/v1/elevation/totp/confirm',
    summary:
      "Confirm the caller's new TOTP factor with its first code; grants nothing (elevate afterwards with a later code)",
    scopes: ['viewer', 'operator', 'approver'],
    body: totpConfirmRequestSchema,
    response: totpConfirmResponseSchema,
  },
  {
    method: 'post',
    path: '/v1/elevation/totp',
    summary:
      'A current TOTP code of a confirmed factor (±1 step, each step once) -> an elevation grant (amr otp); 5 wrong codes lock the factor (429 + Retry-After)',
    scopes: ['viewer', 'operator', 'approver'],
    body: totpElevateRequestSchema,
    response: grantSchema,
    status: 201,
  },
  {
    method: 'delete',
    path: '/v1/elevation/totp/{subject}',
    summary:
      "Remove a subject's TOTP factor (they enrol again, with an enrolment code if it was their only factor); audited elevation.totp.delete (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:factors:delete (resource factors/<subject>) on kind stepgate)",
    scopes: ['admin'],
    status: 204,
  },
  {
    method: 'post',
    path: '/v1/elevation/webauthn/registration/options',
    summary:
      'PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create() (user verification required; single-use challenge); a first factor needs {enrolmentCode}, used when the registration completes; a further one an elevation from the last 10 minutes',
    scopes: ['viewer', 'operator', 'approver'],
    body: webauthnRegistrationOptionsRequestSchema,
  },
  {
    method: 'post',
    path: '/v1/elevation/webauthn/registration',
    summary:
      "Register the authenticator from the browser's RegistrationResponseJSON; grants nothing",
    scopes: ['viewer', 'operator', 'approver'],
    body: webauthnResponseRequestSchema,
    status: 201,
  },
  {
    method: 'post',
    path: '/v1/elevation/webauthn/authentication/options',
    summary:
      'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get(); the asked grant scope is kept with the challenge',
    scopes: ['viewer', 'operator', 'approver'],
    body: webauthnAuthenticationOptionsRequestSchema,
  },
  {
    method: 'post',
    path: '/v1/elevation/webauthn/authentication',
    summary:
      'A user-verified assertion (AuthenticationResponseJSON) -> an elevation grant (amr hwk, user); the challenge is used up by any attempt',
    scopes: ['viewer', 'operator', 'approver'],
    body: webauthnResponseRequestSchema,
    response: grantSchema,
    status: 201,
  },
  {
    method: 'delete',
    path: '/v1/elevation/webauthn/{subject}',
    summary:
      'Remove every security key of a subject; audited elevation.webauthn.delete (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:factors:delete (resource factors/<subject>) on kind stepgate)',
    scopes: ['admin'],
    status: 204,
  },
  {
    method: 'post',
    path: '/v1/enrolment-codes',
    summary:
      "Issue a one-time code for a subject's first factor (default 24 h, at most 7 days); the code is shown once and kept as its SHA-256; audited enrolment_code.create (may need a step-up: 401 auth/step_up_required with details.require and details.satisfy when the active policies protect stepgate:enrolment-codes:create (resource enrolment-codes/<subject>) on kind stepgate)",
    scopes: ['admin'],
    body: createEnrolmentCodeRequestSchema,
    response: createdEnrolmentCodeSchema,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/enrolment-codes',
    summary:
      'Unused, unexpired enrolment codes (query: subject, all=true adds used and expired ones, limit), never the codes',
    scopes: ['admin'],
    response: enrolmentCodesResponseSchema,
  },
  {
    method: 'delete',
    path: '/v1/enrolment-codes/{id}',
    summary: 'Revoke an enrolment code; audited enrolment_code.revoke',
    scopes: ['admin'],
    status: 204,
  },
  {
    method: 'get',
    path: '/v1/grants',
    summary:
      "The caller's grants in force (query: subject — another subject's needs operator or admin; all=true adds expired and revoked; limit), each with its signed JWS",
    scopes: ['viewer', 'operator', 'approver'],
    response: grantsResponseSchema,
  },
  {
    method: 'delete',
    path: '/v1/grants/{id}',
    summary:
      "Revoke a grant at once on every agent (the grant's subject, an operator or an admin); 204, audited grant.revoke",
    scopes: ['viewer', 'operator', 'approver'],
    body: revokeGrantRequestSchema,
    status: 204,
  },
  {
    method: 'post',
    path: '/v1/approvals',
    summary:
      "Ask for N distinct other approvers (default 1) to approve one exact action on one exact resource; open for STEPGATE_APPROVAL_TTL (default 1 h) unless ttlSeconds is given. The requester is the caller's verified principal (a token's subject, or a CI job's ID token as bearer, as on /v1/check), decided with roles from the policy data (a body principal is a 400)",
    scopes: ['viewer', 'operator', 'approver'],
    body: createApprovalRequestSchema,
    response: approvalSchema,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/approvals',
    summary: 'Approval requests, newest first (query: status, requester, limit)',
    scopes: ['viewer', 'operator', 'approver'],
    response: approvalsResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/approvals/{id}',
    summary: 'One approval request with its approvals and, once approved, its grant id',
    scopes: ['viewer', 'operator', 'approver'],
    response: approvalSchema,
  },
  {
    method: 'post',
    path: '/v1/approvals/{id}/approve',
    summary:
      'Approve (approver scope; never your own request, once per approver); the last needed approval issues a grant to the requester. 403 approval/forbidden, 409 approval/conflict or approval/closed otherwise, each audited approval.refused',
    scopes: ['approver'],
    body: approvalDecisionRequestSchema,
    response: approvalSchema,
  },
  {
    method: 'post',
    path: '/v1/approvals/{id}/deny',
    summary:
      'Deny (approver scope; not your own request): one denial closes the request. Refusals as for approve',
    scopes: ['approver'],
    body: approvalDecisionRequestSchema,
    response: approvalSchema,
  },
  {
    method: 'post',
    path: '/v1/check',
    summary:
      "Decide a request with the active policies for the caller's verified principal and its grants, as an agent would: {decision, levels, principal, grantsApplied, satisfy?}. The principal is the bearer token's subject, or, with an OIDC token of an issuer in the active stepgate.yaml `issuers:` as bearer (a GitHub Actions or GitLab CI job's ID token), its mapped principal with the CI claims (repository, environment, ref, actor...) as attributes; roles and groups come from the policy data (data.people), never from the body (principal.roles/groups/attributes are a 400). principal.id naming someone else needs the check:any scope (403 otherwise) and that answer applies no grants (grantsApplied false, note). satisfy lists the `npx stepgate elevate` / `npx stepgate request` commands that meet an unmet step-up; 401 for an ID token that does not verify (signature, issuer, audience, expiry); 503 service/unavailable while no version is active",
    scopes: ['viewer', 'operator', 'approver', 'check:any'],
    body: checkBodySchema,
    response: checkResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/issuers',
    summary:
      'Trusted token issuers of the active policies: key ids in the bundle, last JWKS fetch, last failure',
    scopes: ['viewer', 'operator'],
  },
  {
    method: 'get',
    path: '/v1/console/config',
    summary:
      "Web console sign-in: {oidc: null} or the active version's console.oidc issuer, clientId and scopes with the provider's authorization and token endpoints (from its discovery document) for the authorization code flow with PKCE S256; the ID token is then sent as `Authorization: Bearer`. 503 service/unavailable while the issuer cannot be reached",
    scopes: 'public',
    response: consoleConfigResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/data',
    summary:
      'Live data: the documents the active version declares (schema, default, last write) and the data revision',
    scopes: ['viewer', 'operator', 'data'],
    response: liveDataListResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/data/{name}',
    summary: 'One live document: its value as agents receive it (the default until written)',
    scopes: ['viewer', 'operator', 'data'],
    response: liveDocumentResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/data-sources',
    summary:
      'The data sources the active version declares (stepgate.yaml dataSources) and how their fetches go: ok, failing (the last good value is served; lastError says why) or pending, with the last fetch, success and error, whichever replica polled',
    scopes: ['viewer', 'operator', 'data'],
    response: dataSourceListResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/data/{name}/history',
    summary:
      'The writes of a live document, newest first (query: limit, before = nextCursor); kept when a version no longer declares it',
    scopes: ['viewer', 'operator', 'data'],
    response: liveDataHistoryResponseSchema,
  },
  {
    method: 'put',
    path: '/v1/data/{name}',
    summary:
      'Replace a live document (body: the new value, any JSON, application/json); every write needs a reason in the X-Stepgate-Reason header (percent-encoded UTF-8 for non-ASCII) and the data or operator scope; it is validated against the JSON Schema of the document (400 data/invalid with every error in details, nothing changed), audited (data.put|patch|delete with before, after and the changed paths) and gets the next data revision; 404 data/not_found for a document the active version does not declare; bodies up to 1 MiB (413); may need a step-up when the active policies protect stepgate:data:write (resource data/<name>) on kind stepgate',
    scopes: ['data', 'operator'],
    response: liveDataWriteResponseSchema,
  },
  {
    method: 'patch',
    path: '/v1/data/{name}',
    summary:
      'Change a live document with an RFC 7396 JSON merge patch (application/merge-patch+json, or application/json); every write needs a reason in the X-Stepgate-Reason header (percent-encoded UTF-8 for non-ASCII) and the data or operator scope; it is validated against the JSON Schema of the document (400 data/invalid with every error in details, nothing changed), audited (data.put|patch|delete with before, after and the changed paths) and gets the next data revision; 404 data/not_found for a document the active version does not declare; bodies up to 1 MiB (413); may need a step-up when the active policies protect stepgate:data:write (resource data/<name>) on kind stepgate',
    scopes: ['data', 'operator'],
    response: liveDataWriteResponseSchema,
  },
  {
    method: 'delete',
    path: '/v1/data/{name}',
    summary:
      'Reset a live document to its declared default; every write needs a reason in the X-Stepgate-Reason header (percent-encoded UTF-8 for non-ASCII) and the data or operator scope; it is validated against the JSON Schema of the document (400 data/invalid with every error in details, nothing changed), audited (data.put|patch|delete with before, after and the changed paths) and gets the next data revision; 404 data/not_found for a document the active version does not declare; bodies up to 1 MiB (413); may need a step-up when the active policies protect stepgate:data:write (resource data/<name>) on kind stepgate',
    scopes: ['data', 'operator'],
    response: liveDataWriteResponseSchema,
  },
  {
    method: 'put',
    path: '/v1/data/{name}/{key}',
    summary:
      'Set one key of an object document (body: its value; 409 data/not_an_object otherwise); every write needs a reason in the X-Stepgate-Reason header (percent-encoded UTF-8 for non-ASCII) and the data or operator scope; it is validated against the JSON Schema of the document (400 data/invalid with every error in details, nothing changed), audited (data.put|patch|delete with before, after and the changed paths) and gets the next data revision; 404 data/not_found for a document the active version does not declare; bodies up to 1 MiB (413); may need a step-up when the active policies protect stepgate:data:write (resource data/<name>) on kind stepgate',
    scopes: ['data', 'operator'],
    response: liveDataWriteResponseSchema,
  },
  {
    method: 'delete',
    path: '/v1/data/{name}/{key}',
    summary:
      'Remove one key of an object document; every write needs a reason in the X-Stepgate-Reason header (percent-encoded UTF-8 for non-ASCII) and the data or operator scope; it is validated against the JSON Schema of the document (400 data/invalid with every error in details, nothing changed), audited (data.put|patch|delete with before, after and the changed paths) and gets the next data revision; 404 data/not_found for a document the active version does not declare; bodies up to 1 MiB (413); may need a step-up when the active policies protect stepgate:data:write (resource data/<name>) on kind stepgate',
    scopes: ['data', 'operator'],
    response: liveDataWriteResponseSchema,
  },
  {
    method: 'post',
    path: '/v1/events',
    summary: `Security events for risk signals: plain JSON ({type, subject, time?, id?, data?}; attributes is another name for data) or CloudEvents 1.0 structured mode (subject required, data a JSON object); application/json takes one event, an array, or {"events": [...]} (an object with specversion is a CloudEvent), application/cloudevents+json one CloudEvent, application/cloudevents-batch+json an array of CloudEvents; at most ${EVENTS_MAX_BATCH} events and 1 MiB (413). All or nothing: a bad event is a 400 naming it (events[3].subject: ...) and nothing is taken. time defaults to arrival; more than 5 minutes ahead is refused; events older than a window change nothing; an event type no declared signal reads is accepted and dropped. An id (CloudEvents: source + id) seen while its event still counts is a duplicate, counted once across replicas. Rate-limited per token (STEPGATE_EVENTS_RATE_LIMIT events a second, all replicas together): 429 events/rate_limited with Retry-After. Changed per-subject values are pushed to agents, signed`,
    scopes: ['events'],
    body: z.union([
      plainEventSchema,
      cloudEventSchema,
      z.array(z.union([plainEventSchema, cloudEventSchema])).max(EVENTS_MAX_BATCH),
      z.strictObject({ events: z.array(plainEventSchema).max(EVENTS_MAX_BATCH) }),
    ]),
    response: eventsIngestResponseSchema,
  },
  {
    method: 'get',
    path: '/v1/signals/{subject}',
    summary:
      "A subject's risk signals now (the subject URL-encoded in the path): every signal the active version declares, with its value (the zero value when no event is in the window), window, aggregate and when it falls back to zero",
    scopes: ['viewer', 'operator'],
    response: subjectSignalsResponseSchema,
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    scopes: 'public',
    response: livenessSchema,
  },
  {
    method: 'get',
    path: '/readyz',
    summary:
      'Readiness: database, Redis, policy source; dataSources lists how each data source fetches (a failing one does not make the control plane unready)',
    scopes: 'public',
    response: readinessSchema,
  },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', scopes: 'public' },
  {
    method: 'get',
    path: '/docs',
    summary:
      'This API reference: the page (Swagger UI) to a browser that asks for text/html, this OpenAPI document to any other client',
    scopes: 'public',
  },
  { method: 'get', path: '/docs/openapi.json', summary: 'This OpenAPI document', scopes: 'public' },
  {
    method: 'get',
    path: '/docs/assets/{file}',
    summary:
      'A file of the API reference page (swagger-ui.css, swagger-ui-bundle.js, docs-init.js)',
    scopes: 'public',
  },
];

const json = (schema: z.ZodType) => ({
  'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
});

export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const parameters = openApiPathParameters(route.path);
    const security =
      route.scopes === 'public' || route.scopes === 'webhook' ? [] : [{ bearer: route.scopes }];
    const ok = String(route.status ?? 200);
    (paths[route.path] ??= {})[route.method] = {
      summary: route.summary,
      ...(route.scopes === 'webhook'
        ? {
            description:
              route.description ??
              'Authenticated by X-Hub-Signature-256 (GitHub), X-Gitea-Signature (Gitea) or X-Gitlab-Token (GitLab).',
          }
        : {}),
      security,
      parameters,
      ...(route.body
        ? { requestBody: { required: route.method === 'post', content: json(route.body) } }
        : {}),
      responses: {
        [ok]: { description: 'OK', ...(route.response ? { content: json(route.response) } : {}) },
        default: { description: 'Error', content: json(errorResponseSchema) },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Stepgate control plane',
      version: '1',
      description:
        "Admin API. Bearer tokens carry scopes: admin, operator, viewer, agent, approver, data, events (admin implies all). Where stepgate.yaml declares console.oidc, the console issuer's ID tokens are accepted too, with the scopes console.oidc.roles maps their roles claim to (never admin or agent).",
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
