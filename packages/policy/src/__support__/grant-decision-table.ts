/**
 * The table that pins how grants count (`decideWithGrants`): the policy package's own test runs
 * it against the function, and test/workspace/check-vs-agent.spec.ts runs it through the agent's
 * decision point and the control plane's `/v1/check`, which must answer alike on every row.
 */
import type { GrantKind } from '../evaluate/decide-with-grants.js';
import type {
  AuthEvidence,
  DecisionRequest,
  Effect,
  Requirement,
  RequirementPart,
} from '../model.js';
import { SETTINGS } from './policy-fixture.js';

export const TABLE_NOW = new Date('2026-11-23T10:00:00Z');
const FRESH = '2026-11-23T09:58:00Z';
const OLD = '2026-11-23T09:00:00Z';

const policy = (action: string, rules: string): string =>
  `apiVersion: stepgate/v1\nkind: Policy\nname: ${action}\ntarget: { actions: ["${action}"] }\nrules:\n${rules}  - name: allow\n    effect: allow\n`;

/** The policy files of the table (one action each), settings included. */
export const TABLE_FILES: Record<string, string> = {
  'stepgate.yaml': SETTINGS,
  'fresh-mfa.yaml': policy(
    'fresh-mfa',
    '  - name: mfa\n    effect: step_up\n    require: { level: mfa, maxAge: 10m }\n',
  ),
  'one-approval.yaml': policy(
    'one-approval',
    '  - name: approval\n    effect: step_up\n    require: { approvals: 1 }\n',
  ),
  'mfa-and-approval.yaml': policy(
    'mfa-and-approval',
    '  - name: both\n    effect: step_up\n    require: { level: mfa, maxAge: 10m, approvals: 1 }\n',
  ),
  // A policy that refuses a weak factor outright instead of asking for more.
  'no-passwords.yaml': policy(
    'no-passwords',
    '  - name: no-pwd\n    effect: deny\n    when: auth.level == "pwd"\n' +
      '  - name: mfa\n    effect: step_up\n    require: { level: mfa }\n',
  ),
  // Once at MFA, a fresh login and an approval are asked for too: two parts instead of one.
  'ranked.yaml': policy(
    'ranked',
    '  - name: mfa\n    effect: step_up\n    require: { level: mfa }\n' +
      '  - name: then-more\n    effect: step_up\n    when: auth.level == "mfa"\n    require: { maxAge: 10m, approvals: 1 }\n',
  ),
};

/** A grant of the table as signed: subject alice, scope exactly the row's request. */
export interface TableGrant {
  id: string;
  kind: GrantKind;
  amr: string[];
  level?: string;
  authTime: string;
  approvals: string[];
}

export interface TableRow {
  name: string;
  action: string;
  /** The caller's own verified evidence (a token); `/v1/check` has none, so skips such rows. */
  evidence?: AuthEvidence;
  grants: TableGrant[];
  expect: { effect: Effect; require?: Requirement; unmet?: RequirementPart[]; grants?: string[] };
}

/** The request of every row: alice on app `web`. */
export const tableRequest = (action: string): DecisionRequest => ({
  principal: { id: 'alice' },
  action,
  resource: { kind: 'app', id: 'web' },
});

export const GRANT_ID = (n: number): string => `00000000-0000-4000-8000-00000000000${n}`;
const mfa = (n: number, authTime = FRESH): TableGrant => ({
  id: GRANT_ID(n),
  kind: 'elevation',
  amr: ['otp'],
  authTime,
  approvals: [],
});
const pwd = (n: number): TableGrant => ({
  id: GRANT_ID(n),
  kind: 'elevation',
  amr: [],
  level: 'pwd',
  authTime: FRESH,
  approvals: [],
});
const approval = (n: number, approvals: string[], extra: Partial<TableGrant> = {}): TableGrant => ({
  id: GRANT_ID(n),
  kind: 'approval',
  amr: [],
  authTime: FRESH,
  approvals,
  ...extra,
});
const mfaToken: AuthEvidence = { acr: 'urn:stepgate:mfa', authTime: '2026-11-23T09:59:00Z' };

export const GRANT_TABLE: readonly TableRow[] = [
  {
    name: 'no grants: the step-up stands',
    action: 'fresh-mfa',
    grants: [],
    expect: {
      effect: 'step_up',
      require: { level: 'mfa', maxAge: 600 },
      unmet: ['level', 'maxAge'],
    },
  },
  {
    name: 'an elevation grant that meets the step-up allows and is named',
    action: 'fresh-mfa',
    grants: [mfa(1)],
    expect: { effect: 'allow', grants: [GRANT_ID(1)] },
  },
  {
    name: 'an elevation grant below the level leaves the level to meet',
    action: 'fresh-mfa',
    grants: [pwd(2)],
    expect: { effect: 'step_up', require: { level: 'mfa', maxAge: 600 }, unmet: ['level'] },
  },
  {
    name: 'an elevation grant too old leaves the freshness to meet',
    action: 'fresh-mfa',
    grants: [mfa(1, OLD)],
    expect: { effect: 'step_up', require: { level: 'mfa', maxAge: 600 }, unmet: ['maxAge'] },
  },
  {
    name: 'an approval grant that meets the approvals allows and is named',
    action: 'one-approval',
    grants: [approval(3, ['bob'])],
    expect: { effect: 'allow', grants: [GRANT_ID(3)] },
  },
  {
    name: 'the requester never approves their own request, whatever the case',
    action: 'one-approval',
    grants: [approval(3, ['alice', 'ALICE'])],
    expect: { effect: 'step_up', require: { approvals: 1 }, unmet: ['approvals'] },
  },
  {
    name: 'an approval grant lends its approvers only, never a level, methods or freshness',
    action: 'mfa-and-approval',
    grants: [approval(3, ['bob'], { amr: ['otp'], level: 'mfa', authTime: FRESH })],
    expect: {
      effect: 'step_up',
      require: { level: 'mfa', maxAge: 600, approvals: 1 },
      unmet: ['level', 'maxAge'],
    },
  },
  {
    name: 'an elevation grant and an approval grant together allow, both named',
    action: 'mfa-and-approval',
    grants: [approval(3, ['bob']), mfa(1)],
    expect: { effect: 'allow', grants: [GRANT_ID(1), GRANT_ID(3)] },
  },
  {
    name: "the caller's own token and an approval grant together allow",
    action: 'mfa-and-approval',
    evidence: mfaToken,
    grants: [approval(3, ['bob'])],
    expect: { effect: 'allow', grants: [GRANT_ID(3)] },
  },
  {
    name: 'the step-up with the fewest unmet parts wins, whichever parts they are',
    action: 'ranked',
    grants: [pwd(2), mfa(4, OLD)],
    expect: { effect: 'step_up', require: { level: 'mfa' }, unmet: ['level'] },
  },
  {
    name: 'a tie between two step-ups goes to the lower grant id, in any order',
    action: 'fresh-mfa',
    grants: [mfa(4, OLD), pwd(2)],
    expect: { effect: 'step_up', require: { level: 'mfa', maxAge: 600 }, unmet: ['level'] },
  },
  {
    name: 'a deny from any grant is the answer, even after another grant allowed',
    action: 'no-passwords',
    grants: [mfa(1), pwd(2)],
    expect: { effect: 'deny' },
  },
  {
    name: "a deny on the caller's own evidence is not rescued by a grant",
    action: 'no-passwords',
    evidence: { acr: 'urn:stepgate:pwd' },
    grants: [mfa(1)],
    expect: { effect: 'deny' },
  },
];
