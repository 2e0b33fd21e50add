import { describe, expect, it } from 'vitest';
import { compile, PolicyEngine } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import { admissionAnswer, parseAdmissionReview } from './k8s-admission.js';

/** The AdmissionReview request of the Kubernetes reference ("Dynamic Admission Control"). */
function documentedReview(): Record<string, any> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      subResource: 'scale',
      requestKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestSubResource: 'scale',
      name: 'my-deployment',
      namespace: 'my-namespace',
      operation: 'UPDATE',
      userInfo: {
        username: 'admin',
        uid: '014fbff9a07c',
        groups: ['system:authenticated', 'my-admin-group'],
        extra: { 'some-key': ['some-value1', 'some-value2'] },
      },
      object: { apiVersion: 'autoscaling/v1', kind: 'Scale' },
      oldObject: { apiVersion: 'autoscaling/v1', kind: 'Scale' },
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' },
      dryRun: false,
    },
  };
}

/** A create as the API server sends it: `request.name` empty, the name in the object. */
function configMapCreate(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '0df28fbd-5f5f-4a3e-9b57-2e0c5b2b1c11',
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'prod',
      operation: 'CREATE',
      userInfo: { username: 'alice', groups: ['sre', 'system:authenticated'] },
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app-config', namespace: 'prod', labels: { app: 'shop' } },
        data: { key: 'value' },
      },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      ...overrides,
    },
  };
}

const SETTINGS = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
levels:
  - { name: pwd, acr: ["urn:stepgate:pwd"] }
  - { name: mfa, acr: ["urn:stepgate:mfa"], amr: ["otp"] }
`;
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: k8s
target: { actions: ["k8s:**"] }
rules:
  - name: frozen
    effect: deny
    when: resource.id == "prod/frozen"
    message: This ConfigMap is frozen.
  - name: prod-config-mfa
    effect: step_up
    when: action == "k8s:create:configmaps" && resource.id.startsWith("prod/")
    require: { level: mfa, maxAge: 15m }
  - name: scale-watch
    effect: allow
    mode: audit
    when: action.endsWith("/scale")
    message: Scaling is being reviewed.
  - name: everyone
    effect: allow
`;

function engine(): PolicyEngine {
  const result = compile([
    { path: 'stepgate.yaml', content: SETTINGS },
    { path: 'k8s.yaml', content: POLICY },
  ]);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return new PolicyEngine(result.policySet, { revision: 7 });
}

describe('parseAdmissionReview', () => {
  it('maps the documented Scale update', () => {
    const input = parseAdmissionReview(documentedReview());
    expect(input.uid).toBe('705ab4f5-6393-11e8-b7cc-42010a800002');
    expect(input.dryRun).toBe(false);
    expect(input.request).toEqual({
      principal: {
        id: 'admin',
        groups: ['system:authenticated', 'my-admin-group'],
        attributes: { uid: '014fbff9a07c', extra: { 'some-key': ['some-value1', 'some-value2'] } },
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
          labels: {},
          oldLabels: {},
        },
      },
      context: {
        k8s: {
          review: 'admission',
          operation: 'UPDATE',
          dryRun: false,
          uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        },
      },
    });
  });

  it("takes a create's name and labels from the object", () => {
    const { request } = parseAdmissionReview(configMapCreate());
    expect(request.action).toBe('k8s:create:configmaps');
    expect(request.resource.id).toBe('prod/app-config');
    expect(request.resource.attributes).toMatchObject({ labels: { app: 'shop' } });
    expect(request.resource.attributes).not.toHaveProperty('oldLabels');
  });

  it('uses * as the name of a create that only has generateName', () => {
    const { request } = parseAdmissionReview(
      configMapCreate({ object: { metadata: { generateName: 'app-config-', namespace: 'prod' } } }),
    );
    expect(request.resource.id).toBe('prod/*');
    expect(request.resource.attributes).toMatchObject({ name: '', labels: {} });
  });

  it('takes labels from the old object on delete, and uses _cluster for cluster scope', () => {
    const { request } = parseAdmissionReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u-1',
        kind: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' },
        resource: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' },
        name: 'view',
        operation: 'DELETE',
        userInfo: { username: 'bob' },
        object: null,
        oldObject: { metadata: { name: 'view', labels: { tier: 'core' } } },
      },
    });
    expect(request.action).toBe('k8s:delete:rbac.authorization.k8s.io/clusterroles');
    expect(request.resource).toMatchObject({
      kind: 'k8s:clusterroles',
      id: '_cluster/view',
      attributes: { labels: { tier: 'core' } },
    });
  });

  it('maps CONNECT to connect with the subresource', () => {
    const { request } = parseAdmissionReview(
      configMapCreate({
        resource: { group: '', version: 'v1', resource: 'pods' },
        subResource: 'exec',
        name: 'web-0',
        operation: 'CONNECT',
        object: { apiVersion: 'v1', kind: 'PodExecOptions', command: ['sh'] },
      }),
    );
    expect(request.action).toBe('k8s:connect:pods/exec');
    expect(request.resource.id).toBe('prod/web-0');
  });

  it.each([
    [
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} },
      /apiVersion must be "admission.k8s.io\/v1"/,
    ],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }, /kind must be "AdmissionReview"/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /request is missing/],
    [[], /must be a JSON object, the AdmissionReview/],
  ])('refuses a malformed review (%#)', (body, message) => {
    expect(() => parseAdmissionReview(body)).toThrow(message);
    expect(() => parseAdmissionReview(body)).toThrow(StepgateError);
  });

  it.each([
    ['uid', { uid: '' }, /request\.uid must be a non-empty string/],
    [
      'operation',
      { operation: 'PATCH' },
      /request\.operation must be one of CREATE, UPDATE, DELETE, CONNECT/,
    ],
    ['resource', { resource: 'configmaps' }, /request\.resource must be an object/],
    ['username', { userInfo: { groups: [] } }, /request\.userInfo\.username/],
    [
      'groups',
      { userInfo: { username: 'a', groups: 'sre' } },
      /request\.userInfo\.groups must be a list/,
    ],
    [
      'labels',
      { object: { metadata: { labels: { a: 1 } } } },
      /request\.object\.metadata\.labels\["a"\]/,
    ],
    ['dryRun', { dryRun: 'yes' }, /request\.dryRun must be a boolean/],
  ])('names the malformed field: %s', (_field, overrides, message) => {
    expect(() => parseAdmissionReview(configMapCreate(overrides))).toThrow(message);
  });
});

describe('admissionAnswer', () => {
  const policies = engine();

  it('allows, echoing the uid, with audit annotations and audit-rule warnings', () => {
    const input = parseAdmissionReview(documentedReview());
    const decision = policies.decide(input.request);
    const answer = admissionAnswer(input, decision);
    expect(answer).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        allowed: true,
        auditAnnotations: {
          decision: 'allow',
          'decision-id': decision.decisionId,
          revision: '7',
          rule: 'k8s/everyone',
        },
        warnings: ['Stepgate (audit only, not enforced): Scaling is being reviewed.'],
      },
    });
    // Audit annotation keys must be valid qualified names (the API server prefixes them).
    for (const key of Object.keys(answer.response.auditAnnotations))
      expect(key).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
  });

  it("denies with the policy's message and 403", () => {
    const input = parseAdmissionReview(
      configMapCreate({ object: { metadata: { name: 'frozen' } } }),
    );
    const answer = admissionAnswer(input, policies.decide(input.request));
    expect(answer.response).toMatchObject({
      uid: '0df28fbd-5f5f-4a3e-9b57-2e0c5b2b1c11',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'This ConfigMap is frozen.' },
      auditAnnotations: { decision: 'deny', rule: 'k8s/frozen' },
    });
  });

  it('answers a step-up with the command that elevates the user', () => {
    const input = parseAdmissionReview(configMapCreate({ dryRun: true }));
    const answer = admissionAnswer(input, policies.decide(input.request));
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status).toEqual({
      code: 403,
      reason: 'Forbidden',
      message:
        "Step-up required: authenticate with mfa within the last 15m. Run: npx stepgate elevate --action 'k8s:create:configmaps' --resource 'prod/app-config' and retry.",
    });
    expect(answer.response.auditAnnotations).toMatchObject({
      decision: 'step_up',
      rule: 'k8s/prod-config-mfa',
      'dry-run': 'true',
    });
  });

  it('names the grants that satisfied a step-up', () => {
    const input = parseAdmissionReview(configMapCreate());
    const answer = admissionAnswer(input, {
      ...policies.decide(input.request, { level: 'mfa', authTime: new Date() }),
      grants: ['g-1', 'g-2'],
    });
    expect(answer.response).toMatchObject({
      allowed: true,
      auditAnnotations: { decision: 'allow', grant: 'g-1,g-2' },
    });
  });

  it('warns when the agent fails open', () => {
    const input = parseAdmissionReview(configMapCreate());
    const answer = admissionAnswer(input, {
      effect: 'allow',
      reasons: [
        {
          policy: '(agent)',
          rule: 'fail_open/no_bundle',
          effect: 'allow',
          message: 'No valid policy bundle has been loaded; failing open (failMode: open).',
        },
      ],
      revision: 0,
      decisionId: 'd-1',
      durationNs: 0,
      failReason: 'no_bundle',
    });
    expect(answer.response).toMatchObject({
      allowed: true,
      auditAnnotations: { 'fail-reason': 'no_bundle' },
      warnings: [
        'Stepgate: No valid policy bundle has been loaded; failing open (failMode: open).',
      ],
    });
  });
});
