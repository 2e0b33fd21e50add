import type { CheckRequest, CheckResponse } from '@stepgate/protocol';
import { terraformTaskResultSchema } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { decidedResult, expiredResult, pendingResult } from './run-task-result.js';

const links = { publicUrl: 'https://stepgate.example' };
const request: CheckRequest = {
  principal: { id: 'olga', roles: ['terraform-operator'], groups: [] },
  action: 'terraform:apply',
  resource: {
    kind: 'terraform:workspace',
    id: 'prod-data-platform',
    attributes: { organization: 'acme', changes: ['aws_iam_role'] },
  },
};
const decision = (over: Partial<CheckResponse['decision']>): CheckResponse['decision'] => ({
  effect: 'allow',
  reasons: [],
  revision: 3,
  decisionId: 'd-1',
  durationNs: 1,
  ...over,
});

describe('run task results', () => {
  it('passes an allow with one outcome per deciding rule, in the documented shape', () => {
    const body = decidedResult(
      decision({
        reasons: [{ policy: 'terraform-access', rule: 'operators-apply', effect: 'allow' }],
      }),
      request,
      links,
    );
    expect(terraformTaskResultSchema.parse(body)).toEqual(body);
    expect(body.data.attributes).toMatchObject({ status: 'passed' });
    expect(body.data.relationships?.outcomes.data[0]?.attributes).toMatchObject({
      'outcome-id': 'terraform-access/operators-apply',
      tags: { Status: [{ label: 'Allowed', level: 'info' }] },
    });
  });

  it('fails a deny with the reason in the message', () => {
    const body = decidedResult(
      decision({
        effect: 'deny',
        reasons: [{ policy: 'p', rule: 'r', effect: 'deny', message: 'Not on Fridays.' }],
      }),
      request,
      links,
    );
    expect(body.data.attributes.status).toBe('failed');
    expect(body.data.attributes.message).toContain('Not on Fridays.');
    expect(body.data.relationships?.outcomes.data[0]?.attributes.tags?.Status).toEqual([
      { label: 'Denied', level: 'error' },
    ]);
  });

  it('keeps a step-up running with the elevation level, the command and the console link', () => {
    const body = pendingResult(
      decision({
        effect: 'step_up',
        require: { level: 'phishing_resistant' },
        unmet: ['level'],
        reasons: [{ policy: 'p', rule: 'iam', effect: 'step_up' }],
      }),
      request,
      links,
      new Date('2026-12-03T11:00:00Z'),
    );
    expect(terraformTaskResultSchema.parse(body)).toEqual(body);
    expect(body.data.attributes.status).toBe('running');
    expect(body.data.attributes.message).toContain('olga must elevate to phishing_resistant');
    expect(body.data.attributes.message).toContain(
      'npx stepgate elevate --action terraform:apply --resource prod-data-platform',
    );
    expect(body.data.attributes.message).toContain('https://stepgate.example/console/elevation');
    expect(body.data.attributes.message).toContain('2026-12-03T11:00:00.000Z');
  });

  it('names the approval request to approve when approvals are missing', () => {
    const body = pendingResult(
      decision({
        effect: 'step_up',
        require: { approvals: 2 },
        unmet: ['approvals'],
        reasons: [{ policy: 'p', rule: 'two-approvers', effect: 'step_up' }],
      }),
      request,
      links,
      new Date('2026-12-03T11:00:00Z'),
      'ap-1',
    );
    expect(body.data.attributes.message).toContain('2 approvals');
    expect(body.data.attributes.message).toContain('npx stepgate approve ap-1');
    expect(body.data.attributes.message).toContain('https://stepgate.example/console/approvals');
    expect(body.data.attributes.url).toBe('https://stepgate.example/console/approvals');
  });

  it('fails a step-up that timed out, saying what was missing', () => {
    const body = expiredResult(
      decision({ effect: 'step_up', require: { level: 'phishing_resistant' }, unmet: ['level'] }),
      request,
      new Date('2026-12-03T11:00:00Z'),
    );
    expect(body.data.attributes.status).toBe('failed');
    expect(body.data.attributes.message).toContain('level phishing_resistant');
    expect(body.data.attributes.message).toContain('was not satisfied by 2026-12-03T11:00:00.000Z');
  });
});
