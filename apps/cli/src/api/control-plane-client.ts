import {
  activationResponseSchema,
  agentsResponseSchema,
  approvalSchema,
  approvalsResponseSchema,
  auditResponseSchema,
  checkResponseSchema,
  createdEnrolmentCodeSchema,
  createTokenResponseSchema,
  decisionsResponseSchema,
  fleetSchema,
  livenessSchema,
  readinessSchema,
  sourcesResponseSchema,
  syncQueuedSchema,
  tokensResponseSchema,
  enrolmentCodesResponseSchema,
  grantSchema,
  grantsResponseSchema,
  LIVE_DATA_REASON_HEADER,
  liveDataHistoryResponseSchema,
  liveDataListResponseSchema,
  liveDataWriteResponseSchema,
  liveDocumentResponseSchema,
  replaySchema,
  replayStartedSchema,
  shadowOffResponseSchema,
  shadowResponseSchema,
  totpConfirmResponseSchema,
  totpEnrollResponseSchema,
  versionDetailSchema,
  versionDiffResponseSchema,
  versionsResponseSchema,
  type ActivationResponse,
  type AgentsQuery,
  type CreatedToken,
  type CreateTokenRequest,
  type DecisionsQuery,
  type DecisionsResponse,
  type FleetView,
  type Readiness,
  type SourcesResponse,
  type SyncQueued,
  type TokensResponse,
  type AgentView,
  type ApprovalsResponse,
  type ApprovalView,
  type AuditResponse,
  type CheckBody,
  type CheckResponse,
  type CreatedEnrolmentCode,
  type EnrolmentCodesResponse,
  type GrantsResponse,
  type GrantView,
  type LiveDataHistoryResponse,
  type LiveDataListResponse,
  type LiveDataWriteResponse,
  type LiveDocumentResponse,
  type Replay,
  type ReplayStarted,
  type ShadowOffResponse,
  type ShadowResponse,
  type TotpConfirmResponse,
  type TotpEnrollResponse,
  type VersionDetail,
  type VersionDiffResponse,
  type VersionsResponse,
  type approvalsQuerySchema,
  type createApprovalRequestSchema,
  type createEnrolmentCodeRequestSchema,
  type replayRequestSchema,
  type rollbackRequestSchema,
  type totpElevateRequestSchema,
  type totpEnrollRequestSchema,
} from '@stepgate/protocol';
import { z } from 'zod';
import type { Connection } from '../config/connection.js';

// What the CLI sends, as the protocol's request schemas accept it (before their defaults).
export type TotpEnrollRequest = z.input<typeof totpEnrollRequestSchema>;
export type TotpElevateRequest = z.input<typeof totpElevateRequestSchema>;
export type ApprovalRequest = z.input<typeof createApprovalRequestSchema>;
export type EnrolmentCodeRequest = z.input<typeof createEnrolmentCodeRequestSchema>;
export type RollbackRequest = z.input<typeof rollbackRequestSchema>;
export type ReplayRequest = z.input<typeof replayRequestSchema>;
export type ApprovalStatus = NonNullable<z.input<typeof approvalsQuerySchema>['status']>;

/** `DELETE` answers 204 without a body. */
const noContentSchema = z.undefined();

/** The admin API calls the CLI makes. Commands depend on this, not on HTTP. */
export interface ControlPlaneApi {
  listVersions(query: { limit: number }): Promise<VersionsResponse>;
  getVersion(ref: string): Promise<VersionDetail>;
  diffVersions(ref: string, against?: string): Promise<VersionDiffResponse>;
  activate(ref: string, reason?: string): Promise<ActivationResponse>;
  rollback(request: RollbackRequest): Promise<ActivationResponse>;
  setShadow(ref: string, reason?: string): Promise<ShadowResponse>;
  clearShadow(reason?: string): Promise<ShadowOffResponse>;
  listAudit(query: { limit: number; action?: string }): Promise<AuditResponse>;

  // Step-up: decisions, elevation, grants and approvals.
  check(input: CheckBody): Promise<CheckResponse>;
  enrollTotp(request: TotpEnrollRequest): Promise<TotpEnrollResponse>;
  confirmTotp(code: string): Promise<TotpConfirmResponse>;
  elevateTotp(request: TotpElevateRequest): Promise<GrantView>;
  createEnrolmentCode(request: EnrolmentCodeRequest): Promise<CreatedEnrolmentCode>;
  listEnrolmentCodes(query: { subject?: string; all?: boolean }): Promise<EnrolmentCodesResponse>;
  revokeEnrolmentCode(id: string): Promise<void>;
  listGrants(query: { subject?: string; all?: boolean }): Promise<GrantsResponse>;
  revokeGrant(id: string, reason?: string): Promise<void>;
  createApproval(request: ApprovalRequest): Promise<ApprovalView>;
  listApprovals(query: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalsResponse>;
  getApproval(id: string): Promise<ApprovalView>;
  decideApproval(id: string, verdict: 'approve' | 'deny', comment?: string): Promise<ApprovalView>;

  // Live data.
  listData(): Promise<LiveDataListResponse>;
  getData(name: string): Promise<LiveDocumentResponse>;
  writeData(write: LiveDataWrite): Promise<LiveDataWriteResponse>;
  dataHistory(
    name: string,
    query: { limit?: number; before?: number },
  ): Promise<LiveDataHistoryResponse>;

  // Health, fleet, decisions, tokens and sources.
  /** `/healthz` and `/readyz` (public; a 503 from /readyz is an answer, not an error). */
  health(): Promise<{ live: boolean; ready: Readiness }>;
  getFleet(): Promise<FleetView>;
  listAgents(query: Partial<AgentsQuery>): Promise<{ agents: AgentView[] }>;
  listDecisions(query: DecisionsFilter): Promise<DecisionsResponse>;
  createToken(request: CreateTokenRequest): Promise<CreatedToken>;
  listTokens(): Promise<TokensResponse>;
  revokeToken(id: string): Promise<void>;
  listSources(): Promise<SourcesResponse>;
  syncSource(id: string): Promise<SyncQueued>;

  // Replay.
  startReplay(ref: string, request: ReplayRequest): Promise<ReplayStarted>;
  /** Replays a locally compiled policy set (`stepgate replay <dir>`). */
  startLocalReplay(policySet: unknown, request: ReplayRequest): Promise<ReplayStarted>;
  getReplay(id: string): Promise<Replay>;
}

/** `GET /v1/decisions` filters as sent (the server applies the default limit). */
export type DecisionsFilter = Partial<Omit<DecisionsQuery, 'limit'>> & { limit?: number };

/** A live-data write: PUT a value, PATCH a merge patch, DELETE (a key, or back to the default). */
export interface LiveDataWrite {
  method: 'PUT' | 'PATCH' | 'DELETE';
  name: string;
  key?: string;
  /** The JSON text of the value or the merge patch (PUT, PATCH). */
  json?: string;
  reason: string;
}

/** The control plane answered, and refused (4xx/5xx) or sent something the CLI cannot read. */
export class ControlPlaneError extends Error {
  override readonly name = 'ControlPlaneError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** No answer at all: connection refused, DNS failure, TLS failure, timeout. */
export class ControlPlaneUnreachableError extends Error {
  override readonly name = 'ControlPlaneUnreachableError';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(
      `cannot reach the control plane at ${url} (${reason}); is it running? set --url or STEPGATE_URL`,
    );
  }
}

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface ControlPlaneClientOptions {
  /** Defaults to the global fetch; tests may pass a fake. */
  fetch?: typeof fetch;
  /** Per request, covering the response body too. */
  timeoutMs?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The admin API over HTTP(S) with the global fetch. */
export class ControlPlaneClient implements ControlPlaneApi {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(
    private readonly connection: Connection,
    options: ControlPlaneClientOptions = {},
  ) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async listVersions(query: { limit: number }): Promise<VersionsResponse> {
    const params = { limit: query.limit };
    return this.call('GET', '/v1/versions', versionsResponseSchema, { query: params });
  }

  async getVersion(ref: string): Promise<VersionDetail> {
    return this.call('GET', `/v1/versions/${encodeURIComponent(ref)}`, versionDetailSchema);
  }

  async diffVersions(ref: string, against?: string): Promise<VersionDiffResponse> {
    const path = `/v1/versions/${encodeURIComponent(ref)}/diff`;
    return this.call('GET', path, versionDiffResponseSchema, { query: { against } });
  }

  async activate(ref: string, reason?: string): Promise<ActivationResponse> {
    const path = `/v1/versions/${encodeURIComponent(ref)}/activate`;
    return this.call('POST', path, activationResponseSchema, { body: { reason } });
  }

  async rollback(request: RollbackRequest): Promise<ActivationResponse> {
    const body = { to: request.to, reason: request.reason };
    return this.call('POST', '/v1/rollback', activationResponseSchema, { body });
  }

  async setShadow(ref: string, reason?: string): Promise<ShadowResponse> {
    const path = `/v1/versions/${encodeURIComponent(ref)}/shadow`;
    return this.call('POST', path, shadowResponseSchema, { body: { reason } });
  }

  async clearShadow(reason?: string): Promise<ShadowOffResponse> {
    const body = reason === undefined ? undefined : { reason };
    return this.call('DELETE', '/v1/shadow', shadowOffResponseSchema, { body });
  }

  async listAudit(query: { limit: number; action?: string }): Promise<AuditResponse> {
    const params = { limit: query.limit, action: query.action };
    return this.call('GET', '/v1/audit', auditResponseSchema, { query: params });
  }

  async check(input: CheckBody): Promise<CheckResponse> {
    return this.call('POST', '/v1/check', checkResponseSchema, { body: input });
  }

  async enrollTotp(request: TotpEnrollRequest): Promise<TotpEnrollResponse> {
    const path = '/v1/elevation/totp/enroll';
    return this.call('POST', path, totpEnrollResponseSchema, { body: request });
  }

  async confirmTotp(code: string): Promise<TotpConfirmResponse> {
    const path = '/v1/elevation/totp/confirm';
    return this.call('POST', path, totpConfirmResponseSchema, { body: { code } });
  }

  async createEnrolmentCode(request: EnrolmentCodeRequest): Promise<CreatedEnrolmentCode> {
    const path = '/v1/enrolment-codes';
    return this.call('POST', path, createdEnrolmentCodeSchema, { body: request });
  }

  async listEnrolmentCodes(query: {
    subject?: string;
    all?: boolean;
  }): Promise<EnrolmentCodesResponse> {
    const params = { subject: query.subject, all: query.all === true ? 'true' : undefined };
    const path = '/v1/enrolment-codes';
    return this.call('GET', path, enrolmentCodesResponseSchema, { query: params });
  }

  async revokeEnrolmentCode(id: string): Promise<void> {
    const path = `/v1/enrolment-codes/${encodeURIComponent(id)}`;
    return this.call('DELETE', path, noContentSchema);
  }

  async elevateTotp(request: TotpElevateRequest): Promise<GrantView> {
    return this.call('POST', '/v1/elevation/totp', grantSchema, { body: request });
  }

  async listGrants(query: { subject?: string; all?: boolean }): Promise<GrantsResponse> {
    const params = { subject: query.subject, all: query.all === true ? 'true' : undefined };
    return this.call('GET', '/v1/grants', grantsResponseSchema, { query: params });
  }

  async revokeGrant(id: string, reason?: string): Promise<void> {
    const body = reason === undefined ? undefined : { reason };
    const path = `/v1/grants/${encodeURIComponent(id)}`;
    return this.call('DELETE', path, noContentSchema, { body });
  }

  async createApproval(request: ApprovalRequest): Promise<ApprovalView> {
    return this.call('POST', '/v1/approvals', approvalSchema, { body: request });
  }

  async listApprovals(query: {
    status?: ApprovalStatus;
    limit?: number;
  }): Promise<ApprovalsResponse> {
    const params = { status: query.status, limit: query.limit };
    return this.call('GET', '/v1/approvals', approvalsResponseSchema, { query: params });
  }

  async getApproval(id: string): Promise<ApprovalView> {
    return this.call('GET', `/v1/approvals/${encodeURIComponent(id)}`, approvalSchema);
  }

  async decideApproval(
    id: string,
    verdict: 'approve' | 'deny',
    comment?: string,
  ): Promise<ApprovalView> {
    const path = `/v1/approvals/${encodeURIComponent(id)}/${verdict}`;
    return this.call('POST', path, approvalSchema, { body: { comment } });
  }

  async listData(): Promise<LiveDataListResponse> {
    return this.call('GET', '/v1/data', liveDataListResponseSchema);
  }

  async getData(name: string): Promise<LiveDocumentResponse> {
    return this.call('GET', `/v1/data/${encodeURIComponent(name)}`, liveDocumentResponseSchema);
  }

  async writeData(write: LiveDataWrite): Promise<LiveDataWriteResponse> {
    const key = write.key === undefined ? '' : `/${encodeURIComponent(write.key)}`;
    const path = `/v1/data/${encodeURIComponent(write.name)}${key}`;
    const options = {
      // Percent-encoded, so a reason in any language fits an HTTP header; the server decodes it.
      headers: { [LIVE_DATA_REASON_HEADER]: encodeURIComponent(write.reason) },
      ...(write.json === undefined
        ? {}
        : {
            raw: {
              text: write.json,
              type: write.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
            },
          }),
    };
    switch (write.method) {
      case 'PUT':
        return this.call('PUT', path, liveDataWriteResponseSchema, options);
      case 'PATCH':
        return this.call('PATCH', path, liveDataWriteResponseSchema, options);
      case 'DELETE':
        return this.call('DELETE', path, liveDataWriteResponseSchema, options);
    }
  }

  async dataHistory(
    name: string,
    query: { limit?: number; before?: number },
  ): Promise<LiveDataHistoryResponse> {
    const path = `/v1/data/${encodeURIComponent(name)}/history`;
    const params = { limit: query.limit, before: query.before };
    return this.call('GET', path, liveDataHistoryResponseSchema, { query: params });
  }

  async health(): Promise<{ live: boolean; ready: Readiness }> {
    const live = await this.call('GET', '/healthz', livenessSchema);
    const ready = await this.call('GET', '/readyz', readinessSchema, { accept: [503] });
    return { live: live.status === 'ok', ready };
  }

  async getFleet(): Promise<FleetView> {
    return this.call('GET', '/v1/fleet', fleetSchema);
  }

  async listAgents(query: Partial<AgentsQuery>): Promise<{ agents: AgentView[] }> {
    const params = { status: query.status, limit: query.limit };
    return this.call('GET', '/v1/agents', agentsResponseSchema, { query: params });
  }

  async listDecisions(query: DecisionsFilter): Promise<DecisionsResponse> {
    return this.call('GET', '/v1/decisions', decisionsResponseSchema, { query: { ...query } });
  }

  async createToken(request: CreateTokenRequest): Promise<CreatedToken> {
    return this.call('POST', '/v1/tokens', createTokenResponseSchema, { body: request });
  }

  async listTokens(): Promise<TokensResponse> {
    return this.call('GET', '/v1/tokens', tokensResponseSchema);
  }

  async revokeToken(id: string): Promise<void> {
    return this.call('DELETE', `/v1/tokens/${encodeURIComponent(id)}`, noContentSchema);
  }

  async listSources(): Promise<SourcesResponse> {
    return this.call('GET', '/v1/sources', sourcesResponseSchema);
  }

  async syncSource(id: string): Promise<SyncQueued> {
    const path = `/v1/sources/${encodeURIComponent(id)}/sync`;
    return this.call('POST', path, syncQueuedSchema);
  }

  async startReplay(ref: string, request: ReplayRequest): Promise<ReplayStarted> {
    const path = `/v1/versions/${encodeURIComponent(ref)}/replay`;
    return this.call('POST', path, replayStartedSchema, { body: request });
  }

  async startLocalReplay(policySet: unknown, request: ReplayRequest): Promise<ReplayStarted> {
    return this.call('POST', '/v1/replays', replayStartedSchema, {
      body: { ...request, policySet },
    });
  }

  async getReplay(id: string): Promise<Replay> {
    return this.call('GET', `/v1/replays/${encodeURIComponent(id)}`, replaySchema);
  }

  /**
   * One request; returns the body of a 2xx answer parsed with the protocol's schema of the
   * endpoint, throws otherwise.
   */
  private async call<T>(
    method: Method,
    path: string,
    schema: z.ZodType<T>,
    options: {
      query?: Record<string, string | number | undefined>;
      body?: object;
      /** A body sent as is (live data: any JSON value, a merge patch). */
      raw?: { text: string; type: string };
      headers?: Record<string, string>;
      /** Non-2xx statuses whose body is still the answer (503 of /readyz). */
      accept?: readonly number[];
    } = {},
  ): Promise<T> {
    const url = new URL(`${this.connection.url}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.connection.token}`,
      'user-agent': 'stepgate-cli',
      ...options.headers,
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      // JSON.stringify drops undefined members, so optional fields are simply left out.
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    } else if (options.raw !== undefined) {
      body = options.raw.text;
      headers['content-type'] = options.raw.type;
    }

    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, {
        method,
        headers,
        body,
        // Following a redirect would turn a POST into a GET (301/302) and hide a wrong --url.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new ControlPlaneUnreachableError(this.connection.url, this.describeFailure(error));
    }

    const { status } = response;
    if (status >= 300 && status <= 399) {
      const location = response.headers.get('location') ?? 'nowhere';
      throw new ControlPlaneError(
        status,
        `http/${status}`,
        `the control plane answered HTTP ${status}, redirecting to ${location}; set --url to the final address`,
      );
    }
    const invalid = (why: string, hint: string): ControlPlaneError =>
      new ControlPlaneError(
        status,
        'response/invalid',
        `unexpected answer from ${this.connection.url} to ${method} ${path}: ${why}; ${hint}`,
      );
    // 204 No Content (a revocation): no body, which the schema of the endpoint expects.
    const parsed = status === 204 ? { value: undefined } : parseJson(text);
    const answered = (status >= 200 && status <= 299) || options.accept?.includes(status) === true;
    if (!answered) throw refusal(status, parsed, text);
    if (parsed === undefined) {
      throw invalid('not JSON', 'does --url point at a compatible control plane?');
    }
    const result = schema.safeParse(parsed.value);
    if (!result.success) {
      throw invalid(
        describeIssues(result.error.issues),
        'is the control plane the same version as the CLI?',
      );
    }
    return result.data;
  }

  private describeFailure(error: unknown): string {
    if (error instanceof Error && error.name === 'TimeoutError') {
      return `no answer within ${formatSeconds(this.timeoutMs)}`;
    }
    // undici reports network failures as `TypeError: fetch failed` with the system error as the
    // cause (an AggregateError without a message when every address of a host refused).
    const cause = error instanceof Error ? error.cause : undefined;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      if (cause.message !== '') return cause.message;
      if (typeof code === 'string') return code;
    }
    return error instanceof Error ? error.message : String(error);
  }
}

/** `versions[1].sha: expected string, received undefined`, for the first few mismatches. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const described = issues.slice(0, 3).map((issue) => {
    const where = issue.path
      .map((key, i) =>
        typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`,
      )
      .join('');
    return `${where === '' ? 'the body' : where}: ${issue.message.replace(/^Invalid input: /, '')}`;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return `${described.join('; ')}${more}`;
}

/** A wrapper so a body of `null` is distinguishable from "not JSON". */
function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

function refusal(
  status: number,
  parsed: { value: unknown } | undefined,
  text: string,
): ControlPlaneError {
  const body = parsed?.value;
  if (typeof body === 'object' && body !== null) {
    const { error, message, details } = body as Record<string, unknown>;
    if (typeof error === 'string' && typeof message === 'string') {
      return new ControlPlaneError(status, error, message, details);
    }
  }
  // Not the control plane's error format: a proxy, a load balancer, something else on the port.
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 120);
  return new ControlPlaneError(
    status,
    `http/${status}`,
    `the control plane answered HTTP ${status}${snippet === '' ? '' : `: ${snippet}`}`,
  );
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
