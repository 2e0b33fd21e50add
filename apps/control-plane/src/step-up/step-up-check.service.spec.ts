/**
 * POST /v1/check reads the live data and the principal's risk signals as agents hold them, on
 * both evaluations (without evidence, and with the principal's grants). Only the two stores
 * are replaced: the live-data snapshot and the signal values in Redis.
 */
import { readFileSync } from 'node:fs';
import { compile, PolicyEngine, type GrantEvidence } from '@stepgate/policy';
import { StepgateError, type CheckRequest } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord, AuditService } from '../audit/audit.service.js';
import type { Principal } from '../common/scopes.js';
import type { GrantsService } from '../grants/grants.service.js';
import type { LiveDataService } from '../live-data/live-data.service.js';
import type { SignalsService } from '../signals/signals.service.js';
import type { ActiveEngineService } from './active-engine.service.js';
import { DecisionFactsService } from './decision-facts.service.js';
import { StepUpCheckService } from './step-up-check.service.js';

const SETTINGS = `${readFileSync(new URL('../../../../test/support/fixtures/settings.yaml', import.meta.url), 'utf8')}
liveData:
  frozen:
    schema: frozen.json
    default: false
signals:
  failed_logins: { event: login_failed, window: 1h, aggregate: count }
`;
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: deploys
rules:
  - name: freeze
    effect: deny
    when: data.frozen == true
  - name: production-mfa
    effect: step_up
    when: resource.id == "prod"
    require: { level: mfa }
  - name: failed-logins
    effect: step_up
    when: signals.failed_logins >= 3
    require: { level: phishing_resistant }
  - name: deployers
    effect: allow
    when: action == "deploy"
`;
const NOW = new Date('2026-12-02T12:00:00Z');
const REQUEST: CheckRequest = {
  principal: { id: 'alice' },
  action: 'deploy',
  resource: { kind: 'service', id: 'billing' },
};

let engine: PolicyEngine;

beforeAll(() => {
  const result = compile([
    { path: 'stepgate.yaml', content: SETTINGS },
    { path: 'frozen.json', content: '{"type": "boolean"}' },
    { path: 'deploys.yaml', content: POLICY },
  ]);
  if (!result.ok) throw new Error(result.errors.map((error) => error.message).join('\n'));
  engine = new PolicyEngine(result.policySet, { revision: 1 });
});

/** The check service over these stores; `asked` records whose signals were read. */
function checker(
  frozen: boolean,
  failures: Record<string, number> | 'redis_down' | 'disconnected',
  grants: GrantEvidence[] = [],
): { service: StepUpCheckService; asked: string[]; warnings: string[]; audited: AuditRecord[] } {
  const asked: string[] = [];
  const audited: AuditRecord[] = [];
  const warnings: string[] = [];
  const logger = {
    warn: (_: unknown, message: string) => warnings.push(message),
  } as unknown as Logger;
  const liveData = {
    snapshot: async () => ({ revision: 7, documents: { frozen } }),
  } as unknown as LiveDataService;
  const signals = {
    connected: failures !== 'disconnected',
    valuesFor: async (subject: string) => {
      asked.push(subject);
      if (failures === 'redis_down' || failures === 'disconnected')
        throw new StepgateError('service/unavailable', 'risk signals are unavailable');
      return { failed_logins: failures[subject] ?? 0 };
    },
  } as unknown as SignalsService;
  const data = { people: { alice: { roles: ['deployer'], groups: ['sre'] } } };
  const engines = { current: async () => ({ engine, data }) } as unknown as ActiveEngineService;
  // Grants are alice's only: another principal has none.
  const grantsService = {
    evidenceFor: async (subject: string) => (subject === 'alice' ? grants : []),
  } as unknown as GrantsService;
  const audit = {
    record: async (event: AuditRecord) => void audited.push(event),
  } as unknown as AuditService;
  return {
    service: new StepUpCheckService(
      engines,
      grantsService,
      new DecisionFactsService(liveData, signals, logger),
      audit,
    ),
    asked,
    warnings,
    audited,
  };
}

describe('POST /v1/check reads live data and signals like an agent', () => {
  it('allows with the documents at their values and no signals', async () => {
    const { service, asked } = checker(false, {});
    expect((await service.check(REQUEST, NOW)).decision.effect).toBe('allow');
    expect(asked).toEqual(['alice']);
  });

  it('denies when a live document says so', async () => {
    const { service } = checker(true, {});
    const { decision } = await service.check(REQUEST, NOW);
    expect(decision.effect).toBe('deny');
    expect(decision.reasons.map((reason) => reason.rule)).toContain('freeze');
  });

  it("steps up on the principal's signals, and only the principal's", async () => {
    const { service } = checker(false, { alice: 3 });
    expect((await service.check(REQUEST, NOW)).decision).toMatchObject({
      effect: 'step_up',
      require: { level: 'phishing_resistant' },
    });
    const other = checker(false, { bob: 5 }).service;
    expect((await other.check(REQUEST, NOW)).decision.effect).toBe('allow');
  });

  it('decides with zero signal values, and says so, when Redis does not answer', async () => {
    // A Redis outage must not stop the control plane's own step-up checks (a rollback).
    const { service, warnings } = checker(false, 'redis_down');
    expect((await service.check(REQUEST, NOW)).decision.effect).toBe('allow');
    expect(warnings).toEqual(['risk signals unavailable (Redis): deciding with their zero values']);
  });

  it('does not wait for Redis to come back when it is not connected', async () => {
    const { service, asked, warnings } = checker(false, 'disconnected');
    expect((await service.check(REQUEST, NOW)).decision.effect).toBe('allow');
    expect(asked).toEqual([]);
    expect(warnings).toHaveLength(1);
  });

  it('reads the signals on the grants path too: an MFA grant meets production, not the signal', async () => {
    const grant: GrantEvidence = {
      id: '0b8f5e0e-4a57-4f51-9a32-0d3d7c2b1a11',
      kind: 'elevation',
      evidence: { level: 'mfa', amr: ['otp'], authTime: new Date(NOW.getTime() - 60_000) },
    };
    const production: CheckRequest = { ...REQUEST, resource: { kind: 'service', id: 'prod' } };
    const calm = checker(false, {}, [grant]).service;
    expect((await calm.check(production, NOW)).decision.effect).toBe('allow');
    // With 3 failed logins the grant's MFA is not enough: the evaluation with the grant must
    // read the signal as well, or it would allow.
    const { service } = checker(false, { alice: 3 }, [grant]);
    expect((await service.check(production, NOW)).decision).toMatchObject({
      effect: 'step_up',
      require: { level: 'phishing_resistant' },
    });
  });
});

describe('POST /v1/check decides for the verified principal', () => {
  const mfa: GrantEvidence = {
    id: '0b8f5e0e-4a57-4f51-9a32-0d3d7c2b1a11',
    kind: 'elevation',
    evidence: { level: 'mfa', amr: ['otp'], authTime: new Date(NOW.getTime() - 60_000) },
  };
  const body = { action: 'deploy', resource: { kind: 'service', id: 'prod' } };
  const token = (subject: string, scopes: Principal['scopes'] = ['viewer']): Principal => ({
    tokenId: 't1',
    name: `${subject}-laptop`,
    subject,
    scopes,
  });

  it("takes the principal from the token's subject, roles from data.people, with its grants", async () => {
    const { service } = checker(false, {}, [mfa]);
    const answer = await service.checkFor(token('alice'), body, NOW);
    expect(answer.decision.effect).toBe('allow');
    expect(answer.principal).toEqual({
      id: 'alice',
      source: 'token',
      roles: ['deployer'],
      groups: ['sre'],
    });
    expect(answer.grantsApplied).toBe(true);
    // Naming yourself needs no scope.
    const self = await service.checkFor(
      token('alice'),
      { ...body, principal: { id: 'alice' } },
      NOW,
    );
    expect(self.principal?.source).toBe('token');
  });

  it("maps an ID token's claims to the principal's attributes and adds data.people roles", async () => {
    const { service } = checker(false, {}, [mfa]);
    const ci: Principal = {
      ...token('alice', []),
      authMethod: 'id-token',
      identity: {
        issuer: 'https://token.actions.githubusercontent.com',
        roles: ['ci'],
        attributes: { platform: 'github-actions', repository: 'octo/billing' },
      },
    };
    const answer = await service.checkFor(ci, body, NOW);
    expect(answer.principal).toEqual({
      id: 'alice',
      source: 'id-token',
      roles: ['ci', 'deployer'],
      groups: ['sre'],
      attributes: { platform: 'github-actions', repository: 'octo/billing' },
    });
  });

  it('refuses another principal without check:any, naming the scope', async () => {
    const { service, audited } = checker(false, {}, [mfa]);
    const asking = service.checkFor(token('bob'), { ...body, principal: { id: 'alice' } }, NOW);
    await expect(asking).rejects.toMatchObject({
      code: 'auth/forbidden',
      message: expect.stringMatching(/acts for "bob".*"alice".*check:any/),
    });
    expect(audited).toEqual([]);
  });

  it('with check:any answers for the other principal without their grants, and audits it', async () => {
    const { service, audited } = checker(false, {}, [mfa]);
    const answer = await service.checkFor(
      token('auditor', ['check:any']),
      { ...body, principal: { id: 'alice' } },
      NOW,
    );
    // alice's MFA grant would allow: not applied for someone else's question.
    expect(answer.decision.effect).toBe('step_up');
    expect(answer.grantsApplied).toBe(false);
    expect(answer.principal).toMatchObject({ id: 'alice', source: 'asked', roles: ['deployer'] });
    expect(answer.note).toMatch(/without their grants/);
    expect(answer.satisfy).toBeUndefined();
    expect(audited).toEqual([
      expect.objectContaining({
        actor: 'token:auditor-laptop',
        action: 'check.other_principal',
        target: 'alice',
      }),
    ]);
  });
});
