import type { Connection } from '../config/connection.js';
import {
  ResponseShapeError,
  readActivateResult,
  readAuditList,
  readRollbackResult,
  readShadowOffResult,
  readShadowResult,
  readVersionDetail,
  readVersionList,
  type ActivateResult,
  type AuditList,
  type RollbackResult,
  type ShadowOffResult,
  type ShadowResult,
  type VersionDetail,
  type VersionList,
} from './control-plane-types.js';
import {
  readApproval,
  readApprovalList,
  readCheckResult,
  readCreatedEnrolmentCode,
  readEnrolmentCodeList,
  readGrant,
  readGrantList,
  readNothing,
  readTotpConfirmation,
  readTotpEnrollment,
  type ApprovalInput,
  type ApprovalList,
  type ApprovalStatus,
  type ApprovalView,
  type CheckInput,
  type CheckResult,
  type CreatedEnrolmentCode,
  type ElevateInput,
  type EnrolmentCodeList,
  type GrantList,
  type GrantView,
  type TotpConfirmation,
  type TotpEnrollInput,
  type TotpEnrollment,
} from './step-up-types.js';

/** The admin API calls the CLI makes. Commands depend on this, not on HTTP. */
export interface ControlPlaneApi {
  listVersions(query: { limit: number }): Promise<VersionList>;
  getVersion(ref: string): Promise<VersionDetail>;
  activate(ref: string, reason?: string): Promise<ActivateResult>;
  rollback(request: { to?: string; reason: string }): Promise<RollbackResult>;
  setShadow(ref: string, reason?: string): Promise<ShadowResult>;
  clearShadow(reason?: string): Promise<ShadowOffResult>;
  listAudit(query: { limit: number; action?: string }): Promise<AuditList>;

  // Step-up: decisions, elevation, grants and approvals.
  check(input: CheckInput): Promise<CheckResult>;
  enrollTotp(request: TotpEnrollInput): Promise<TotpEnrollment>;
  confirmTotp(code: string): Promise<TotpConfirmation>;
  elevateTotp(request: ElevateInput): Promise<GrantView>;
  createEnrolmentCode(request: {
    subject: string;
    ttlSeconds?: number;
  }): Promise<CreatedEnrolmentCode>;
  listEnrolmentCodes(query: { subject?: string; all?: boolean }): Promise<EnrolmentCodeList>;
  revokeEnrolmentCode(id: string): Promise<void>;
  listGrants(query: { subject?: string; all?: boolean }): Promise<GrantList>;
  revokeGrant(id: string, reason?: string): Promise<void>;
  createApproval(request: ApprovalInput): Promise<ApprovalView>;
  listApprovals(query: { status?: ApprovalStatus }): Promise<ApprovalList>;
  getApproval(id: string): Promise<ApprovalView>;
  decideApproval(id: string, verdict: 'approve' | 'deny', comment?: string): Promise<ApprovalView>;
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

type Method = 'GET' | 'POST' | 'DELETE';

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

  async listVersions(query: { limit: number }): Promise<VersionList> {
    return this.call('GET', '/v1/versions', readVersionList, { query: { limit: query.limit } });
  }

  async getVersion(ref: string): Promise<VersionDetail> {
    return this.call('GET', `/v1/versions/${encodeURIComponent(ref)}`, readVersionDetail);
  }

  async activate(ref: string, reason?: string): Promise<ActivateResult> {
    const path = `/v1/versions/${encodeURIComponent(ref)}/activate`;
    return this.call('POST', path, readActivateResult, { body: { reason } });
  }

  async rollback(request: { to?: string; reason: string }): Promise<RollbackResult> {
    const body = { to: request.to, reason: request.reason };
    return this.call('POST', '/v1/rollback', readRollbackResult, { body });
  }

  async setShadow(ref: string, reason?: string): Promise<ShadowResult> {
    const path = `/v1/versions/${encodeURIComponent(ref)}/shadow`;
    return this.call('POST', path, readShadowResult, { body: { reason } });
  }

  async clearShadow(reason?: string): Promise<ShadowOffResult> {
    const body = reason === undefined ? undefined : { reason };
    return this.call('DELETE', '/v1/shadow', readShadowOffResult, { body });
  }

  async listAudit(query: { limit: number; action?: string }): Promise<AuditList> {
    const params = { limit: query.limit, action: query.action };
    return this.call('GET', '/v1/audit', readAuditList, { query: params });
  }

  async check(input: CheckInput): Promise<CheckResult> {
    return this.call('POST', '/v1/check', readCheckResult, { body: input });
  }

  async enrollTotp(request: TotpEnrollInput): Promise<TotpEnrollment> {
    return this.call('POST', '/v1/elevation/totp/enroll', readTotpEnrollment, { body: request });
  }

  async confirmTotp(code: string): Promise<TotpConfirmation> {
    return this.call('POST', '/v1/elevation/totp/confirm', readTotpConfirmation, {
      body: { code },
    });
  }

  async createEnrolmentCode(request: {
    subject: string;
    ttlSeconds?: number;
  }): Promise<CreatedEnrolmentCode> {
    return this.call('POST', '/v1/enrolment-codes', readCreatedEnrolmentCode, { body: request });
  }

  async listEnrolmentCodes(query: { subject?: string; all?: boolean }): Promise<EnrolmentCodeList> {
    const params = { subject: query.subject, all: query.all === true ? 'true' : undefined };
    return this.call('GET', '/v1/enrolment-codes', readEnrolmentCodeList, { query: params });
  }

  async revokeEnrolmentCode(id: string): Promise<void> {
    return this.call('DELETE', `/v1/enrolment-codes/${encodeURIComponent(id)}`, readNothing);
  }

  async elevateTotp(request: ElevateInput): Promise<GrantView> {
    return this.call('POST', '/v1/elevation/totp', readGrant, { body: request });
  }

  async listGrants(query: { subject?: string; all?: boolean }): Promise<GrantList> {
    const params = { subject: query.subject, all: query.all === true ? 'true' : undefined };
    return this.call('GET', '/v1/grants', readGrantList, { query: params });
  }

  async revokeGrant(id: string, reason?: string): Promise<void> {
    const body = reason === undefined ? undefined : { reason };
    return this.call('DELETE', `/v1/grants/${encodeURIComponent(id)}`, readNothing, { body });
  }

  async createApproval(request: ApprovalInput): Promise<ApprovalView> {
    return this.call('POST', '/v1/approvals', readApproval, { body: request });
  }

  async listApprovals(query: { status?: ApprovalStatus }): Promise<ApprovalList> {
    return this.call('GET', '/v1/approvals', readApprovalList, { query: { status: query.status } });
  }

  async getApproval(id: string): Promise<ApprovalView> {
    return this.call('GET', `/v1/approvals/${encodeURIComponent(id)}`, readApproval);
  }

  async decideApproval(
    id: string,
    verdict: 'approve' | 'deny',
    comment?: string,
  ): Promise<ApprovalView> {
    const path = `/v1/approvals/${encodeURIComponent(id)}/${verdict}`;
    return this.call('POST', path, readApproval, { body: { comment } });
  }

  /** One request; returns the checked JSON body of a 2xx answer, throws otherwise. */
  private async call<T>(
    method: Method,
    path: string,
    read: (body: unknown) => T,
    options: { query?: Record<string, string | number | undefined>; body?: object } = {},
  ): Promise<T> {
    const url = new URL(`${this.connection.url}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.connection.token}`,
      'user-agent': 'stepgate-cli',
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      // JSON.stringify drops undefined members, so optional fields are simply left out.
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
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
    // 204 No Content (a revocation): nothing to parse.
    if (status === 204) return read(undefined);
    const parsed = parseJson(text);
    if (status < 200 || status > 299) throw refusal(status, parsed, text);
    const invalid = (why: string): ControlPlaneError =>
      new ControlPlaneError(
        status,
        'response/invalid',
        `unexpected answer from ${this.connection.url} to ${method} ${path}: ${why}; does --url point at a compatible control plane?`,
      );
    if (parsed === undefined) throw invalid('not JSON');
    try {
      return read(parsed.value);
    } catch (error) {
      if (error instanceof ResponseShapeError) throw invalid(error.message);
      throw error;
    }
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
