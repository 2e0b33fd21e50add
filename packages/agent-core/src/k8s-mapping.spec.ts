import { describe, expect, it } from 'vitest';
import { PolicyEngine } from '@stepgate/policy';
import { policySet } from './__support__/fakes.js';
import {
  isRuleAllow,
  isRuleDeny,
  k8sAction,
  k8sNonResourceRequest,
  k8sResourceId,
  k8sResourceRequest,
  k8sStepUpMessage,
} from './k8s-mapping.js';

describe('k8sAction', () => {
  it('names core resources without a group, others with it, subresources after a slash', () => {
    expect(k8sAction({ verb: 'update', group: '', resource: 'configmaps' })).toBe(
      'k8s:update:configmaps',
    );
    expect(k8sAction({ verb: 'create', resource: 'pods', subresource: 'exec' })).toBe(
      'k8s:create:pods/exec',
    );
    expect(k8sAction({ verb: 'patch', group: 'apps', resource: 'deployments' })).toBe(
      'k8s:patch:apps/deployments',
    );
    expect(
      k8sAction({ verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale' }),
    ).toBe('k8s:update:apps/deployments/scale');
  });
});

describe('k8sResourceId', () => {
  it('is namespace/name, _cluster for cluster scope, * without a name', () => {
    expect(k8sResourceId('prod', 'app-config')).toBe('prod/app-config');
    expect(k8sResourceId('', 'worker-1')).toBe('_cluster/worker-1');
    expect(k8sResourceId(undefined, 'worker-1')).toBe('_cluster/worker-1');
    expect(k8sResourceId('prod', '')).toBe('prod/*');
  });
});

describe('k8sResourceRequest', () => {
  it('maps the user, the attributes and the labels', () => {
    const request = k8sResourceRequest(
      {
        username: 'admin',
        uid: '014fbff9a07c',
        groups: ['system:authenticated', 'my-admin-group'],
        extra: { 'some-key': ['some-value1', 'some-value2'] },
      },
      {
        verb: 'update',
        group: 'apps',
        version: 'v1',
        resource: 'deployments',
        subresource: 'scale',
        namespace: 'my-namespace',
        name: 'my-deployment',
      },
      { labels: { app: 'web' }, oldLabels: { app: 'web', protected: 'true' }, context: { a: 1 } },
    );
    expect(request).toEqual({
      principal: {
        id: 'admin',
        groups: ['system:authenticated', 'my-admin-group'],
        attributes: {
          uid: '014fbff9a07c',
          extra: { 'some-key': ['some-value1', 'some-value2'] },
        },
      },
      action: 'k8s:update:apps/deployments/scale',
      resource: {
        kind: 'k8s:deployments',
        id: 'my-namespace/my-deployment',
        attributes: {
          namespace: 'my-namespace',
          name: 'my-deployment',
          group: 'apps',
          version: 'v1',
          resource: 'deployments',
          subresource: 'scale',
          labels: { app: 'web' },
          oldLabels: { app: 'web', protected: 'true' },
        },
      },
      context: { a: 1 },
    });
  });

  it('fills absent attributes with empty strings and leaves principal attributes out when empty', () => {
    const request = k8sResourceRequest(
      { username: 'jane' },
      { verb: 'get', resource: 'nodes', name: 'worker-1' },
    );
    expect(request.principal).toEqual({ id: 'jane', groups: [] });
    expect(request.resource).toEqual({
      kind: 'k8s:nodes',
      id: '_cluster/worker-1',
      attributes: {
        namespace: '',
        name: 'worker-1',
        group: '',
        version: '',
        resource: 'nodes',
        subresource: '',
      },
    });
  });
});

describe('k8sNonResourceRequest', () => {
  it('maps a path and verb', () => {
    expect(
      k8sNonResourceRequest({ username: 'jane', groups: ['g'] }, { verb: 'get', path: '/healthz' }),
    ).toEqual({
      principal: { id: 'jane', groups: ['g'] },
      action: 'k8s:get:nonresource',
      resource: { kind: 'k8s:nonresource', id: '/healthz' },
      context: {},
    });
  });
});

const SECRET = { kind: 'k8s:secrets', id: 'prod/db' };

describe('k8sStepUpMessage', () => {
  it('names the elevate command for a level and freshness gap', () => {
    expect(
      k8sStepUpMessage({ level: 'mfa', maxAge: 900 }, 'k8s:update:configmaps', {
        kind: 'k8s:configmaps',
        id: 'prod/app-config',
      }),
    ).toBe(
      "Step-up required: authenticate with mfa within the last 15m. Run: npx stepgate elevate --action 'k8s:update:configmaps' --resource 'prod/app-config' and retry.",
    );
  });

  it('names the request command for approvals, and both when authentication is due too', () => {
    expect(k8sStepUpMessage({ approvals: 1 }, 'k8s:delete:secrets', SECRET)).toBe(
      'Step-up required: 1 approval from other people. Run: npx stepgate request ' +
        "--action 'k8s:delete:secrets' --resource 'prod/db' --resource-kind 'k8s:secrets' --reason \"<why you need this>\" and retry once approved.",
    );
    const both = k8sStepUpMessage({ level: 'mfa', approvals: 2 }, 'k8s:delete:secrets', SECRET);
    expect(both).toContain('Run: npx stepgate request ');
    expect(both).toContain(
      "then once approved: npx stepgate elevate --action 'k8s:delete:secrets' --resource 'prod/db' and retry.",
    );
  });

  it('with the unmet parts, asks only for what is still to do', () => {
    const require = { level: 'mfa', maxAge: 900, approvals: 1 };
    // Authenticated recently enough at MFA: only the approval is missing.
    expect(k8sStepUpMessage(require, 'k8s:delete:secrets', SECRET, undefined, ['approvals'])).toBe(
      'Step-up required: 1 approval from other people. Run: npx stepgate request ' +
        "--action 'k8s:delete:secrets' --resource 'prod/db' --resource-kind 'k8s:secrets' --reason \"<why you need this>\" and retry once approved.",
    );
    // Approved, but the MFA login is stale: the login is asked for in full, no request.
    expect(k8sStepUpMessage(require, 'k8s:delete:secrets', SECRET, undefined, ['maxAge'])).toBe(
      "Step-up required: authenticate with mfa within the last 15m. Run: npx stepgate elevate --action 'k8s:delete:secrets' --resource 'prod/db' and retry.",
    );
  });

  it("appends the policy's message and quotes arguments for the shell", () => {
    const text = k8sStepUpMessage(
      { level: 'mfa' },
      "k8s:get:it's",
      { kind: 'k8s:x', id: 'ns/$(rm -rf x)' },
      ' Be careful. ',
    );
    expect(text).toContain(`--action 'k8s:get:it'\\''s' --resource 'ns/$(rm -rf x)'`);
    expect(text.endsWith(' Policy: Be careful.')).toBe(true);
  });
});

const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: k8s
target: { actions: ["k8s:**"] }
rules:
  - name: no-kube-system-deletes
    effect: deny
    when: action.startsWith("k8s:delete:") && resource.id.startsWith("kube-system/")
    message: Nothing in kube-system is deleted by hand.
  - name: protected-label
    effect: deny
    when: '"stepgate.dev/protected" in resource.attributes.labels'
  - name: admins
    effect: allow
    when: '"my-admin-group" in principal.groups'
`;

describe('isRuleDeny / isRuleAllow with real decisions', () => {
  const engine = new PolicyEngine(policySet({ 'k8s.yaml': POLICY }));
  const admin = { username: 'admin', groups: ['my-admin-group'] };

  it('tells a matching deny rule from the default effect', () => {
    const ruled = engine.decide(
      k8sResourceRequest(
        admin,
        { verb: 'delete', resource: 'pods', namespace: 'kube-system', name: 'dns' },
        { labels: {} },
      ),
    );
    expect(ruled.effect).toBe('deny');
    expect(isRuleDeny(ruled)).toBe(true);

    const unmatched = engine.decide(
      k8sResourceRequest(
        { username: 'jane' },
        { verb: 'get', resource: 'pods', namespace: 'dev', name: 'x' },
        { labels: {} },
      ),
    );
    expect(unmatched.effect).toBe('deny');
    expect(isRuleDeny(unmatched)).toBe(false);
    expect(isRuleAllow(unmatched)).toBe(false);
  });

  it('lets labels drive a rule, and counts a rule whose condition failed as a rule deny', () => {
    const labelled = engine.decide(
      k8sResourceRequest(
        admin,
        { verb: 'update', resource: 'configmaps', namespace: 'dev', name: 'c' },
        { labels: { 'stepgate.dev/protected': 'true' } },
      ),
    );
    expect(labelled.reasons.map((r) => r.rule)).toEqual(['protected-label']);
    // A SubjectAccessReview carries no labels: the condition fails and onError: deny applies.
    const noLabels = engine.decide(
      k8sResourceRequest(admin, {
        verb: 'update',
        resource: 'configmaps',
        namespace: 'dev',
        name: 'c',
      }),
    );
    expect(noLabels.effect).toBe('deny');
    expect(isRuleDeny(noLabels)).toBe(true);
  });

  it('counts an allow rule, not an allow by default or by fail-open', () => {
    const allowed = engine.decide(
      k8sResourceRequest(
        admin,
        { verb: 'get', resource: 'pods', namespace: 'dev', name: 'x' },
        { labels: {} },
      ),
    );
    expect(isRuleAllow(allowed)).toBe(true);
    expect(isRuleAllow({ ...allowed, failReason: 'no_bundle' })).toBe(false);
    expect(isRuleAllow({ effect: 'allow', reasons: [] })).toBe(false);
  });
});
