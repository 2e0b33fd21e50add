/**
 * `stepgate check` promises to decide "exactly as an agent would". This runs the grants table
 * (packages/policy/src/__support__/grant-decision-table.ts) and rows about grant scope through
 * both: the agent's DecisionPoint with its GrantStore holding the signed grants, and the control
 * plane's StepUpCheckService (what backs POST /v1/check) with the same grants as stored rows.
 * Every row must give the same effect, requirement and unmet parts on both, and the table's
 * expected ones.
 * Only the two databases are replaced: the active engine by the compiled table, the grants
 * table by its rows (filtered as the query filters them).
 */
import { BundleStore, DecisionPoint, GrantStore, TrustStore } from '@stepgate/agent-core';
import { compile, type CompiledPolicySet, type DecisionRequest } from '@stepgate/policy';
import type { GrantClaims } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  grantEvidenceFor,
  isInForce,
  type GrantRow,
} from '../../apps/control-plane/src/grants/grant-claims.js';
import type { GrantsService } from '../../apps/control-plane/src/grants/grants.service.js';
import type { ActiveEngineService } from '../../apps/control-plane/src/step-up/active-engine.service.js';
import { StepUpCheckService } from '../../apps/control-plane/src/step-up/step-up-check.service.js';
import { DecisionFactsService } from '../../apps/control-plane/src/step-up/decision-facts.service.js';
import type { LiveDataService } from '../../apps/control-plane/src/live-data/live-data.service.js';
import type { SignalsService } from '../../apps/control-plane/src/signals/signals.service.js';
import { PolicyEngine } from '@stepgate/policy';
import { FakeClock, signer } from '../../packages/agent-core/src/__support__/fakes.js';
import {
  GRANT_ID,
  GRANT_TABLE,
  TABLE_FILES,
  TABLE_NOW,
  tableRequest,
  type TableGrant,
  type TableRow,
} from '../../packages/policy/src/__support__/grant-decision-table.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
let policySet: CompiledPolicySet;

beforeAll(async () => {
  key = await signer();
  const result = compile(Object.entries(TABLE_FILES).map(([path, content]) => ({ path, content })));
  if (!result.ok) throw new Error(result.errors.map((error) => error.message).join('\n'));
  policySet = result.policySet;
});

/** A row's grant as signed claims: alice's, scoped to exactly the row's request, unless `scope` says otherwise. */
function claimsOf(
  grant: TableGrant,
  action: string,
  scope: Partial<GrantClaims> = {},
): Partial<GrantClaims> {
  return {
    id: grant.id,
    subject: 'alice',
    kind: grant.kind,
    amr: grant.amr,
    ...(grant.level !== undefined ? { level: grant.level } : {}),
    authTime: grant.authTime,
    approvals: grant.approvals,
    actions: [action],
    resources: ['web'],
    ...(grant.kind === 'approval' ? { resourceKind: 'app' } : {}),
    issuedAt: '2026-11-23T09:58:00Z',
    expiresAt: '2026-11-23T10:30:00Z',
    ...scope,
  };
}

interface GuardRow {
  name: string;
  request: DecisionRequest;
  grants: Partial<GrantClaims>[];
  expect: TableRow['expect'];
}

const fromTable: GuardRow[] = GRANT_TABLE
  // /v1/check decides with the principal's grants only: it has no token of the caller's.
  .filter((row) => row.evidence === undefined)
  .map((row) => ({
    name: row.name,
    request: tableRequest(row.action),
    grants: row.grants.map((grant) => claimsOf(grant, row.action)),
    expect: row.expect,
  }));

/** A grant that would meet `fresh-mfa` (table row 2), outside the request's scope in one way. */
const meets: TableGrant = {
  id: GRANT_ID(1),
  kind: 'elevation',
  amr: ['otp'],
  authTime: '2026-11-23T09:58:00Z',
  approvals: [],
};
const approves: TableGrant = {
  ...meets,
  id: GRANT_ID(3),
  kind: 'approval',
  amr: [],
  approvals: ['bob'],
};
const outOfScope = (
  name: string,
  grant: TableGrant,
  action: string,
  scope: Partial<GrantClaims>,
): GuardRow => ({
  name: `out of scope: ${name}`,
  request: tableRequest(action),
  grants: [claimsOf(grant, action, scope)],
  expect:
    action === 'fresh-mfa'
      ? { effect: 'step_up', require: { level: 'mfa', maxAge: 600 }, unmet: ['level', 'maxAge'] }
      : { effect: 'step_up', require: { approvals: 1 }, unmet: ['approvals'] },
});
const scopeRows: GuardRow[] = [
  outOfScope('another action', meets, 'fresh-mfa', { actions: ['one-approval'] }),
  outOfScope('another resource id', meets, 'fresh-mfa', { resources: ['web-*', 'api'] }),
  outOfScope('another resource kind', meets, 'fresh-mfa', { resourceKind: 'db' }),
  outOfScope('another subject', meets, 'fresh-mfa', { subject: 'mallory' }),
  outOfScope('expired', meets, 'fresh-mfa', { expiresAt: '2026-11-23T09:59:00Z' }),
  outOfScope('an approval for another kind', approves, 'one-approval', { resourceKind: 'db' }),
  outOfScope('an approval signed without a kind', approves, 'one-approval', {
    resourceKind: undefined,
  }),
];

/** The agent: its decision point with a grant store holding the signed grants. */
async function agentDecides(row: GuardRow, signed: string[]) {
  const clock = new FakeClock(TABLE_NOW.getTime());
  const trust = TrustStore.fromJwks(key.jwks);
  const store = new BundleStore({ trust, clock });
  expect((await store.offer('active', await key.sign(policySet, 1))).applied).toBe(true);
  const grants = new GrantStore({ trust, clock });
  await grants.apply({ full: false, grants: signed, revoked: [] });
  return new DecisionPoint({ store, clock, grants }).decide(row.request);
}

/** The control plane: the service behind POST /v1/check, the same grants as stored rows. */
async function checkDecides(row: GuardRow, signed: string[]) {
  const rows: GrantRow[] = row.grants.map((claims, index) => ({
    id: claims.id as string,
    subject: claims.subject as string,
    kind: claims.kind as GrantRow['kind'],
    method: claims.kind === 'approval' ? 'approval' : 'totp',
    amr: claims.amr ?? [],
    level: claims.level ?? null,
    authTime: new Date(claims.authTime as string),
    approvals: claims.approvals ?? [],
    actions: claims.actions ?? [],
    resources: claims.resources ?? [],
    jws: signed[index] as string,
    issuedAt: new Date(claims.issuedAt as string),
    expiresAt: new Date(claims.expiresAt as string),
    revokedAt: null,
  }));
  const engine = new PolicyEngine(policySet, { revision: 1 });
  const engines = { current: async () => ({ engine }) } as unknown as ActiveEngineService;
  const grants = {
    // GrantsService.evidenceFor with its query (subject, in force) done in memory.
    evidenceFor: async (
      subject: string,
      action: string,
      resource: { kind: string; id: string },
      now: Date,
    ) =>
      grantEvidenceFor(
        rows.filter((grant) => grant.subject === subject && isInForce(grant, now)),
        action,
        resource,
      ),
  } as unknown as GrantsService;
  // The table declares no live data or signals: the facts are empty on both sides.
  const facts = new DecisionFactsService(
    {} as unknown as LiveDataService,
    {} as unknown as SignalsService,
    {} as unknown as Logger,
  );
  const response = await new StepUpCheckService(engines, grants, facts).check(
    { ...row.request, principal: { ...row.request.principal } },
    TABLE_NOW,
  );
  return response.decision;
}

describe('stepgate check decides as an agent would', () => {
  it('runs every row of the grants table that has no caller token', () => {
    expect(fromTable.length).toBeGreaterThanOrEqual(GRANT_TABLE.length - 2);
  });

  it.each([...fromTable, ...scopeRows].map((row) => [row.name, row] as const))(
    '%s',
    async (_name, row) => {
      const signed = await Promise.all(row.grants.map((claims) => key.grant(claims)));
      const agent = await agentDecides(row, signed);
      const check = await checkDecides(row, signed);
      const outcome = (decision: { effect: string; require?: unknown; unmet?: unknown }) => ({
        effect: decision.effect,
        require: decision.require,
        unmet: decision.unmet,
      });
      expect(outcome(check), 'check vs agent').toEqual(outcome(agent));
      expect(outcome(agent), 'agent vs table').toEqual({
        effect: row.expect.effect,
        require: row.expect.require,
        unmet: row.expect.unmet,
      });
    },
  );
});
