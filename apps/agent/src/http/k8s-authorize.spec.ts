import { describe, expect, it } from 'vitest';
import { compile, PolicyEngine } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import { accessReviewAnswer, parseSubjectAccessReview } from './k8s-authorize.js';

/** The request body of the Kubernetes reference ("Webhook Mode"), authorization.k8s.io/v1beta1. */
const DOCUMENTED_BETA = {
  apiVersion: 'authorization.k8s.io/v1beta1',
  kind: 'SubjectAccessReview',
  spec: {
    resourceAttributes: {
      namespace: 'kittensandponies',
      verb: 'get',
      group: 'unicorn.example.org',
      resource: 'pods',
    },
    user: 'jane',
    group: ['group1', 'group2'],
  },
};

/** `kubectl exec` as the API server asks in v1 (create on pods/exec). */
function exec(user: string, groups: string[], namespace = 'prod'): Record<string, any> {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      resourceAttributes: {
        namespace,
        verb: 'create',
        version: 'v1',
        resource: 'pods',
        subresource: 'exec',
        name: 'web-0',
      },
      user,
      groups,
      uid: '2f8e3c1a',
      extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=abc'] },
    },
  };
}

const SETTINGS = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
levels:
  - { name: mfa, acr: ["urn:stepgate:mfa"] }
`;
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: kubectl
target: { actions: ["k8s:**"] }
rules:
  - name: contractors-never-exec
    effect: deny
    when: '"contractors" in principal.groups && action.startsWith("k8s:create:pods/")'
    message: Contractors cannot open shells or tunnels.
  - name: prod-exec-mfa
    effect: step_up
    when: action in ["k8s:create:pods/exec", "k8s:create:pods/portforward"] && resource.id.startsWith("prod/")
    require: { level: mfa, maxAge: 5m }
  - name: sre
    effect: allow
    when: '"sre" in principal.groups'
  - name: unicorn-readers
    effect: allow
    when: action == "k8s:get:unicorn.example.org/pods" && "group2" in principal.groups
`;

function engine(): PolicyEngine {
  const result = compile([
    { path: 'stepgate.yaml', content: SETTINGS },
    { path: 'kubectl.yaml', content: POLICY },
  ]);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return new PolicyEngine(result.policySet, { revision: 3 });
}

describe('parseSubjectAccessReview', () => {
  it('maps the documented v1beta1 review (spec.group)', () => {
    expect(parseSubjectAccessReview(DOCUMENTED_BETA)).toEqual({
      apiVersion: 'authorization.k8s.io/v1beta1',
      request: {
        principal: { id: 'jane', groups: ['group1', 'group2'] },
        action: 'k8s:get:unicorn.example.org/pods',
        resource: {
          kind: 'k8s:pods',
          id: 'kittensandponies/*',
          attributes: {
            namespace: 'kittensandponies',
            name: '',
            group: 'unicorn.example.org',
            version: '',
            resource: 'pods',
            subresource: '',
          },
        },
        context: { k8s: { review: 'authorization' } },
      },
    });
  });

  it('maps a v1 exec with uid and extra', () => {
    const { request } = parseSubjectAccessReview(exec('dana', ['sre']));
    expect(request.action).toBe('k8s:create:pods/exec');
    expect(request.resource.id).toBe('prod/web-0');
    expect(request.principal).toEqual({
      id: 'dana',
      groups: ['sre'],
      attributes: {
        uid: '2f8e3c1a',
        extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=abc'] },
      },
    });
  });

  it('maps non-resource requests and cluster-scoped resources', () => {
    const healthz = parseSubjectAccessReview({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { nonResourceAttributes: { path: '/healthz', verb: 'get' }, user: 'jane' },
    });
    expect(healthz.request).toMatchObject({
      action: 'k8s:get:nonresource',
      resource: { kind: 'k8s:nonresource', id: '/healthz' },
    });
    const node = parseSubjectAccessReview({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        resourceAttributes: { verb: 'get', resource: 'nodes', name: 'worker-1' },
        user: 'jane',
      },
    });
    expect(node.request.resource.id).toBe('_cluster/worker-1');
  });

  it.each([
    [
      { ...DOCUMENTED_BETA, apiVersion: 'authorization.k8s.io/v2' },
      /apiVersion must be "authorization.k8s.io\/v1" or "authorization.k8s.io\/v1beta1"/,
    ],
    [{ ...DOCUMENTED_BETA, kind: 'AdmissionReview' }, /kind must be "SubjectAccessReview"/],
    [{ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview' }, /spec is missing/],
    [
      { ...exec('a', []), spec: { user: 'a' } },
      /exactly one of spec.resourceAttributes and spec.nonResourceAttributes/,
    ],
    [
      {
        ...exec('a', []),
        spec: { user: '', resourceAttributes: { verb: 'get', resource: 'pods' } },
      },
      /spec.user must be a non-empty string/,
    ],
    [
      { ...exec('a', []), spec: { user: 'a', resourceAttributes: { resource: 'pods' } } },
      /spec.resourceAttributes.verb/,
    ],
    [
      { ...DOCUMENTED_BETA, spec: { ...DOCUMENTED_BETA.spec, groups: ['x'] } },
      /spec.groups is not part of authorization.k8s.io\/v1beta1; groups are spec.group/,
    ],
    [
      { ...exec('a', []), spec: { ...exec('a', []).spec, group: ['x'] } },
      /spec.group is not part of authorization.k8s.io\/v1; groups are spec.groups/,
    ],
  ])('refuses a malformed review (%#)', (body, message) => {
    expect(() => parseSubjectAccessReview(body)).toThrow(message);
    expect(() => parseSubjectAccessReview(body)).toThrow(StepgateError);
  });
});

describe('accessReviewAnswer', () => {
  const policies = engine();
  const answer = (body: unknown) => {
    const input = parseSubjectAccessReview(body);
    return accessReviewAnswer(input, policies.decide(input.request));
  };

  it('allows on an allow rule, echoing apiVersion and kind', () => {
    const result = answer(DOCUMENTED_BETA);
    expect(result.apiVersion).toBe('authorization.k8s.io/v1beta1');
    expect(result.kind).toBe('SubjectAccessReview');
    expect(result.status.allowed).toBe(true);
    expect(result.status.denied).toBeUndefined();
    expect(result.status.reason).toMatch(
      /^allowed by kubectl\/unicorn-readers \(stepgate decision .+, revision 3\)$/,
    );
  });

  it('hard-denies on a matching deny rule', () => {
    const result = answer(exec('carl', ['contractors', 'sre']));
    expect(result.status).toMatchObject({ allowed: false, denied: true });
    expect(result.status.reason).toMatch(/^Contractors cannot open shells or tunnels\. \(stepgate/);
  });

  it('has no opinion when nothing matched, so RBAC decides', () => {
    const result = answer(exec('jane', ['developers'], 'dev'));
    expect(result.status.allowed).toBe(false);
    expect(result.status).not.toHaveProperty('denied');
    expect(result.status.reason).toMatch(/no Stepgate rule decides this request; deferring/);
  });

  it('hard-denies a step-up with the elevate command (exec and port-forward)', () => {
    const result = answer(exec('dana', ['sre']));
    expect(result.status).toMatchObject({ allowed: false, denied: true });
    expect(result.status.reason).toContain(
      "Step-up required: authenticate with mfa within the last 5m. Run: npx stepgate elevate --action 'k8s:create:pods/exec' --resource 'prod/web-0' and retry.",
    );
    const forward = exec('dana', ['sre']);
    forward.spec.resourceAttributes.subresource = 'portforward';
    expect(answer(forward).status.reason).toContain("--action 'k8s:create:pods/portforward'");
  });

  it('never grants on fail-open; hard-denies on fail-closed', () => {
    const input = parseSubjectAccessReview(exec('dana', ['sre']));
    const failed = (effect: 'allow' | 'deny') =>
      accessReviewAnswer(input, {
        effect,
        reasons: [{ policy: '(agent)', rule: `fail/no_bundle`, effect, message: 'No bundle.' }],
        revision: 0,
        decisionId: 'd',
        durationNs: 0,
        failReason: 'no_bundle',
      }).status;
    expect(failed('allow')).toEqual({
      allowed: false,
      reason: 'No bundle; deferring to the other authorizers (stepgate decision d, revision 0)',
    });
    expect(failed('deny')).toMatchObject({ allowed: false, denied: true });
  });
});
