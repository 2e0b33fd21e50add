import { globMatch, type AuthEvidence, type GrantEvidence } from '@stepgate/policy';
import {
  GRANT_FORMAT,
  grantAppliesToKind,
  StepgateError,
  type GrantClaims,
  type GrantView,
} from '@stepgate/protocol';

/**
 * The pure half of grants: claims from an issue request, views from stored rows, and which
 * grants count as evidence for a request. No Nest, no Prisma, so it is unit-tested directly.
 */

/** `*` stops at `/`; `**` crosses it, so the default scope really is every action and resource. */
export const EVERY_ACTION = ['**'];
export const EVERY_RESOURCE = ['**'];

export interface ClaimsInput {
  id: string;
  subject: string;
  kind: GrantClaims['kind'];
  amr: string[];
  level?: string;
  authTime: Date;
  approvals: string[];
  actions?: string[];
  resources?: string[];
  /** The one resource kind it applies to (approval grants: the approved resource's kind). */
  resourceKind?: string;
  ttlSeconds?: number;
}

export interface TtlLimits {
  defaultSeconds: number;
  maxSeconds: number;
}

/** Seconds a grant lives: what was asked for (or the default), never more than the cap. */
export function grantLifetime(asked: number | undefined, limits: TtlLimits): number {
  const wanted = asked ?? limits.defaultSeconds;
  if (!Number.isFinite(wanted) || wanted <= 0)
    throw new StepgateError(
      'request/invalid',
      `a grant lifetime must be positive (got ${wanted}s)`,
    );
  return Math.min(wanted, limits.maxSeconds);
}

function checkGlobs(what: 'actions' | 'resources', globs: string[]): void {
  for (const glob of globs) {
    try {
      // Compiles (and caches) the glob; the value is irrelevant.
      globMatch('', glob);
    } catch (error) {
      throw new StepgateError(
        'request/invalid',
        `grant ${what}: ${(error as Error).message}; use *, **, ? and {a,b} without nesting`,
        { field: what, glob },
      );
    }
  }
}

/** The claims to sign; throws `request/invalid` for a glob agents could not compile. */
export function buildGrantClaims(input: ClaimsInput, now: Date, limits: TtlLimits): GrantClaims {
  const actions = input.actions && input.actions.length > 0 ? input.actions : EVERY_ACTION;
  const resources =
    input.resources && input.resources.length > 0 ? input.resources : EVERY_RESOURCE;
  checkGlobs('actions', actions);
  checkGlobs('resources', resources);
  const lifetime = grantLifetime(input.ttlSeconds, limits);
  return {
    format: GRANT_FORMAT,
    id: input.id,
    subject: input.subject,
    kind: input.kind,
    amr: [...input.amr],
    ...(input.level ? { level: input.level } : {}),
    authTime: input.authTime.toISOString(),
    approvals: [...input.approvals],
    actions: [...actions],
    resources: [...resources],
    ...(input.resourceKind !== undefined ? { resourceKind: input.resourceKind } : {}),
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + lifetime * 1000).toISOString(),
  };
}

/** The columns of a stored grant this module reads. */
export interface GrantRow {
  id: string;
  subject: string;
  kind: 'elevation' | 'approval';
  method: string;
  amr: string[];
  level: string | null;
  authTime: Date;
  approvals: string[];
  actions: string[];
  resources: string[];
  jws: string;
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export function toGrantView(row: GrantRow, withJws = true): GrantView {
  return {
    id: row.id,
    subject: row.subject,
    kind: row.kind,
    method: row.method,
    amr: row.amr,
    level: row.level,
    authTime: row.authTime.toISOString(),
    approvals: row.approvals,
    actions: row.actions,
    resources: row.resources,
    resourceKind: signedResourceKind(row.jws) ?? null,
    issuedAt: row.issuedAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt ? row.revokedAt.toISOString() : null,
    ...(withJws ? { jws: row.jws } : {}),
  };
}

/** In force at `now`: not revoked and not expired. */
export function isInForce(row: Pick<GrantRow, 'expiresAt' | 'revokedAt'>, now: Date): boolean {
  return row.revokedAt === null && now.getTime() < row.expiresAt.getTime();
}

/**
 * The resource kind signed into a stored grant: the database row has no column for it, and the
 * signed claims are what agents match, so the control plane reads the same claims.
 */
export function signedResourceKind(jws: string): string | undefined {
  try {
    const payload: unknown = JSON.parse(
      Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'),
    );
    const kind = (payload as { resourceKind?: unknown } | null)?.resourceKind;
    return typeof kind === 'string' ? kind : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The grant's scope covers this action on this resource: any action glob, any resource-id
 * glob, and the resource kind as agents match it (grantAppliesToKind: an approval grant only
 * for the kind it was approved for).
 */
export function grantCovers(
  row: Pick<GrantRow, 'actions' | 'resources' | 'kind' | 'jws'>,
  action: string,
  resource: { kind: string; id: string },
): boolean {
  const claims = { kind: row.kind, resourceKind: signedResourceKind(row.jws) };
  if (!grantAppliesToKind(claims, resource.kind)) return false;
  const resourceId = resource.id;
  const safeMatch = (value: string, glob: string): boolean => {
    try {
      return globMatch(value, glob);
    } catch {
      // A stored glob that no longer compiles matches nothing rather than failing the check.
      return false;
    }
  };
  return (
    row.actions.some((glob) => safeMatch(action, glob)) &&
    row.resources.some((glob) => safeMatch(resourceId, glob))
  );
}

/**
 * One grant as decision evidence, exactly what an agent derives from the signed claims. An
 * approval grant lends only its approvers: its time is when others approved, not an
 * authentication of the requester, so it never meets a `maxAge` on its own.
 */
export function toEvidence(row: GrantRow): AuthEvidence {
  return {
    amr: [...row.amr],
    ...(row.level ? { level: row.level } : {}),
    ...(row.kind === 'elevation' ? { authTime: row.authTime.toISOString() } : {}),
    approvals: [...row.approvals],
    grants: [row.id],
  };
}

/**
 * The grants among `rows` (a subject's grants in force) that cover this action on this
 * resource, as `decideWithGrants` counts them: the same evidence an agent derives from the
 * signed claims.
 */
export function grantEvidenceFor(
  rows: readonly GrantRow[],
  action: string,
  resource: { kind: string; id: string },
): GrantEvidence[] {
  return rows
    .filter((row) => grantCovers(row, action, resource))
    .map((row) => ({ id: row.id, kind: row.kind, evidence: toEvidence(row) }));
}

/** Glob syntax in a literal: an approval for `prod/*` must not become a grant for all of prod. */
export function hasGlobSyntax(value: string): boolean {
  return /[*?{}]/.test(value);
}
