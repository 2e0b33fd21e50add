/**
 * The real agent process as a Kubernetes admission webhook (`POST /v1/k8s/admission`) and
 * authorization webhook (`POST /v1/k8s/authorize`), with bundles and grants pushed by a fake
 * control plane over the real agent protocol. Request bodies follow the Kubernetes API
 * reference (AdmissionReview admission.k8s.io/v1, SubjectAccessReview v1 and v1beta1).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, type CompiledPolicySet } from '@stepgate/policy';
import {
  bundleHashOf,
  generateSigningKey,
  GRANT_FORMAT,
  importSigningKey,
  signBundle,
  signGrant,
  toJwks,
} from '@stepgate/protocol';
import { SETTINGS } from '../../support/policy-fixtures.js';
import {
  call,
  cleanup,
  ensureAgentBuilt,
  examplePolicies,
  FakeControlPlane,
  startAgentProcess,
  tempDir,
  waitFor,
  type AgentProcess,
} from './support.js';

/** What a platform team would write for kubectl: hard denies, step-ups, then who may act. */
const KUBERNETES_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: kubernetes
target: { actions: ["k8s:**"] }
rules:
  - name: kube-system-hands-off
    effect: deny
    when: resource.id.startsWith("kube-system/") && !action.globMatch("k8s:{get,list,watch}:**")
    message: kube-system is changed by the platform pipeline only.
  - name: contractors-no-shells
    effect: deny
    when: '"contractors" in principal.groups && action.startsWith("k8s:create:pods/")'
    message: Contractors cannot open shells or tunnels into pods.
  - name: prod-config-mfa
    effect: step_up
    when: >-
      resource.id.startsWith("prod/")
      && action.globMatch("k8s:{create,update,patch,delete}:configmaps")
    require: { level: mfa, maxAge: 15m }
  - name: prod-secret-deletes-need-approval
    effect: step_up
    when: resource.id.startsWith("prod/") && action == "k8s:delete:secrets"
    require: { approvals: 1 }
  - name: prod-shells-mfa
    effect: step_up
    when: >-
      resource.id.startsWith("prod/")
      && action in ["k8s:create:pods/exec", "k8s:create:pods/portforward", "k8s:connect:pods/exec"]
    require: { level: mfa, maxAge: 5m }
  - name: operators
    effect: allow
    when: principal.groups.exists(g, g in ["sre", "my-admin-group"])
  - name: unicorn-readers
    effect: allow
    when: action == "k8s:get:unicorn.example.org/pods" && "group2" in principal.groups
`;

/** Cluster-scoped objects have ids `_cluster/<name>`. */
const NODES_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: nodes
target: { actions: ["k8s:delete:nodes"], resources: ["_cluster/*"] }
rules:
  - name: autoscaler-only
    effect: deny
    message: Nodes are drained and removed by the cluster autoscaler.
`;

function policies(): CompiledPolicySet {
  const result = compile([
    { path: 'stepgate.yaml', content: SETTINGS },
    { path: 'kubernetes/kubernetes.yaml', content: KUBERNETES_POLICY },
    { path: 'kubernetes/nodes.yaml', content: NODES_POLICY },
  ]);
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.file}: ${e.message}`).join('\n'));
  return result.policySet;
}

// ---------------------------------------------------------------------------------------------
// Review bodies, shaped as in the Kubernetes API reference

/** The AdmissionReview of the reference ("Dynamic Admission Control"): a Scale update. */
const DOCUMENTED_ADMISSION = {
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

interface AdmissionOptions {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  resource: string;
  group?: string;
  subResource?: string;
  namespace?: string;
  name: string;
  username?: string;
  groups?: string[];
  dryRun?: boolean;
}

/** An AdmissionReview as the API server sends it for `options` (creates carry no request.name). */
function admission(options: AdmissionOptions) {
  const object =
    options.operation === 'DELETE'
      ? null
      : { apiVersion: 'v1', metadata: { name: options.name, namespace: options.namespace } };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: options.group ?? '', version: 'v1', kind: 'Object' },
      resource: { group: options.group ?? '', version: 'v1', resource: options.resource },
      ...(options.subResource ? { subResource: options.subResource } : {}),
      name: options.operation === 'CREATE' ? '' : options.name,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      operation: options.operation,
      userInfo: {
        username: options.username ?? 'alice',
        uid: 'a1b2c3',
        groups: options.groups ?? ['sre', 'system:authenticated'],
      },
      object,
      oldObject:
        options.operation === 'UPDATE' || options.operation === 'DELETE'
          ? { apiVersion: 'v1', metadata: { name: options.name, namespace: options.namespace } }
          : null,
      dryRun: options.dryRun ?? false,
    },
  };
}

/** The request body of the reference ("Webhook Mode"), authorization.k8s.io/v1beta1. */
const DOCUMENTED_ACCESS_REVIEW_BETA = {
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

/** A v1 SubjectAccessReview for `verb` on `resource[/subresource]` in `namespace`. */
function accessReview(
  user: string,
  groups: string[],
  attributes: Record<string, string>,
): Record<string, unknown> {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { resourceAttributes: { version: 'v1', ...attributes }, user, groups, uid: 'u-1' },
  };
}

// ---------------------------------------------------------------------------------------------
// One agent, one fake control plane, one signing key for bundles and grants

let plane: FakeControlPlane;
let agent: AgentProcess;
let signingKey: Awaited<ReturnType<typeof importSigningKey>>;
const dirs: string[] = [];

beforeAll(async () => {
  await ensureAgentBuilt();
  const generated = await generateSigningKey();
  signingKey = await importSigningKey(generated.privateJwk);
  const jwks = toJwks([generated.publicJwk]);
  const keysDir = tempDir('k8s-keys');
  const cacheDir = tempDir('k8s-cache');
  dirs.push(keysDir, cacheDir);
  const keysFile = join(keysDir, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(jwks));

  plane = await FakeControlPlane.start(jwks);
  await publish(policies(), 1);
  agent = await startAgentProcess(
    {
      STEPGATE_URL: plane.url,
      STEPGATE_AGENT_TOKEN: plane.token,
      STEPGATE_TRUSTED_KEYS: keysFile,
      STEPGATE_AGENT_ID: 'agent-k8s',
    },
    cacheDir,
  );
  await revisionOnAgent(1);
}, 300_000);

/** Signs `set` as active revision `revision` and pushes it to the agent. */
async function publish(set: CompiledPolicySet, revision: number): Promise<void> {
  plane.publish(
    'active',
    revision,
    await signBundle(
      {
        format: 'stepgate.bundle/v1',
        kind: 'active',
        revision,
        version: {
          id: `version-${revision}`,
          number: revision,
          sha: String(revision).repeat(40).slice(0, 40),
          branch: 'main',
          committedAt: new Date().toISOString(),
        },
        rollback: false,
        issuedAt: new Date().toISOString(),
        bundleHash: await bundleHashOf(set),
        policySet: set,
      },
      { kid: signingKey.kid, privateKey: signingKey.privateKey },
    ),
  );
}

async function revisionOnAgent(revision: number): Promise<void> {
  await waitFor(`revision ${revision} on the agent`, async () => {
    const ready = await call(agent.url, 'GET', '/readyz');
    return ready.body?.revision === revision;
  });
}

afterAll(async () => {
  await agent?.kill();
  await plane?.stop();
  cleanup(...dirs);
});

async function admit(body: unknown) {
  const result = await call(agent.url, 'POST', '/v1/k8s/admission', body);
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body as {
    apiVersion: string;
    kind: string;
    response: {
      uid: string;
      allowed: boolean;
      status?: { code: number; message: string; reason: string };
      auditAnnotations: Record<string, string>;
      warnings?: string[];
    };
  };
}

async function authorize(body: unknown) {
  const result = await call(agent.url, 'POST', '/v1/k8s/authorize', body);
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body as {
    apiVersion: string;
    kind: string;
    status: { allowed: boolean; denied?: boolean; reason: string };
  };
}

describe('admission webhook (AdmissionReview v1)', () => {
  it('allows the documented Scale update, echoing the uid, with audit annotations', async () => {
    const answer = await admit(DOCUMENTED_ADMISSION);
    expect(answer.apiVersion).toBe('admission.k8s.io/v1');
    expect(answer.kind).toBe('AdmissionReview');
    expect(answer.response.uid).toBe('705ab4f5-6393-11e8-b7cc-42010a800002');
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.status).toBeUndefined();
    expect(answer.response.auditAnnotations).toEqual({
      decision: 'allow',
      'decision-id': expect.any(String),
      revision: '1',
      rule: 'kubernetes/operators',
    });
  });

  it("denies with the policy's message", async () => {
    const answer = await admit(
      admission({
        operation: 'DELETE',
        resource: 'configmaps',
        namespace: 'kube-system',
        name: 'coredns',
        username: 'admin',
        groups: ['my-admin-group'],
      }),
    );
    expect(answer.response).toMatchObject({
      allowed: false,
      status: {
        code: 403,
        reason: 'Forbidden',
        message: 'kube-system is changed by the platform pipeline only.',
      },
      auditAnnotations: { decision: 'deny', rule: 'kubernetes/kube-system-hands-off' },
    });
  });

  it('answers a step-up with the exact command that elevates the user', async () => {
    const answer = await admit(
      admission({
        operation: 'UPDATE',
        resource: 'configmaps',
        namespace: 'prod',
        name: 'app-config',
      }),
    );
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status).toEqual({
      code: 403,
      reason: 'Forbidden',
      message:
        "Step-up required: authenticate with mfa within the last 15m. Run: npx stepgate elevate --action 'k8s:update:configmaps' --resource 'prod/app-config' and retry.",
    });
    expect(answer.response.auditAnnotations).toMatchObject({
      decision: 'step_up',
      rule: 'kubernetes/prod-config-mfa',
    });
  });

  it('answers an approvals step-up with the request command', async () => {
    const answer = await admit(
      admission({
        operation: 'DELETE',
        resource: 'secrets',
        namespace: 'prod',
        name: 'db-credentials',
      }),
    );
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.message).toBe(
      "Step-up required: 1 approval from other people. Run: npx stepgate request --action 'k8s:delete:secrets' --resource 'prod/db-credentials' --resource-kind 'k8s:secrets' --reason \"<why you need this>\" and retry once approved.",
    );
  });

  it('names cluster-scoped objects _cluster/<name>', async () => {
    const answer = await admit(
      admission({
        operation: 'DELETE',
        resource: 'nodes',
        name: 'worker-1',
        username: 'admin',
        groups: ['my-admin-group'],
      }),
    );
    expect(answer.response).toMatchObject({
      allowed: false,
      status: { message: 'Nodes are drained and removed by the cluster autoscaler.' },
      auditAnnotations: { rule: 'nodes/autoscaler-only' },
    });
  });

  it('covers CONNECT on pods/exec', async () => {
    const answer = await admit(
      admission({
        operation: 'CONNECT',
        resource: 'pods',
        subResource: 'exec',
        namespace: 'prod',
        name: 'web-0',
      }),
    );
    expect(answer.response.status?.message).toContain(
      "Run: npx stepgate elevate --action 'k8s:connect:pods/exec' --resource 'prod/web-0' and retry.",
    );
  });

  it('decides dry runs without leaving a decision-log record', async () => {
    const dry = await admit(
      admission({
        operation: 'CREATE',
        resource: 'configmaps',
        namespace: 'prod',
        name: 'dry-run-probe',
        dryRun: true,
      }),
    );
    expect(dry.response.allowed).toBe(false);
    expect(dry.response.auditAnnotations['dry-run']).toBe('true');
    const real = await admit(
      admission({
        operation: 'CREATE',
        resource: 'configmaps',
        namespace: 'prod',
        name: 'after-probe',
      }),
    );
    const realId = real.response.auditAnnotations['decision-id'];
    // Records ship in order: once the later, real decision has arrived, the dry run would have.
    await waitFor(
      'the real decision in the shipped logs',
      async () => plane.records().some((record) => record.decisionId === realId),
      20_000,
    );
    const records = plane.records();
    expect(records.find((record) => record.resource.id === 'prod/after-probe')).toMatchObject({
      action: 'k8s:create:configmaps',
      principal: 'alice',
      effect: 'step_up',
    });
    expect(
      records.some((record) => record.decisionId === dry.response.auditAnnotations['decision-id']),
    ).toBe(false);
    expect(records.some((record) => record.resource.id === 'prod/dry-run-probe')).toBe(false);
  });

  it.each([
    [
      'wrong apiVersion',
      { ...DOCUMENTED_ADMISSION, apiVersion: 'admission.k8s.io/v1beta1' },
      /apiVersion must be "admission.k8s.io\/v1"/,
    ],
    [
      'wrong kind',
      { ...DOCUMENTED_ADMISSION, kind: 'SubjectAccessReview' },
      /kind must be "AdmissionReview"/,
    ],
    [
      'missing request',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
      /request is missing/,
    ],
    [
      'missing uid',
      { ...DOCUMENTED_ADMISSION, request: { ...DOCUMENTED_ADMISSION.request, uid: undefined } },
      /request\.uid must be a non-empty string/,
    ],
    ['not JSON', '{"apiVersion":', /not valid JSON/],
  ])('answers a malformed review (%s) with a 400 JSON error', async (_name, body, message) => {
    const result = await call(agent.url, 'POST', '/v1/k8s/admission', body);
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({
      error: 'request/invalid',
      message: expect.stringMatching(message),
    });
    expect(result.body).not.toHaveProperty('response');
  });
});

describe('authorization webhook (SubjectAccessReview)', () => {
  it('allows the documented v1beta1 review (spec.group), echoing apiVersion and kind', async () => {
    const answer = await authorize(DOCUMENTED_ACCESS_REVIEW_BETA);
    expect(answer.apiVersion).toBe('authorization.k8s.io/v1beta1');
    expect(answer.kind).toBe('SubjectAccessReview');
    expect(answer.status.allowed).toBe(true);
    expect(answer.status.reason).toContain('kubernetes/unicorn-readers');
  });

  it('hard-denies a matching deny rule', async () => {
    const answer = await authorize(
      accessReview('carl', ['contractors', 'sre'], {
        namespace: 'dev',
        verb: 'create',
        resource: 'pods',
        subresource: 'exec',
        name: 'web-0',
      }),
    );
    expect(answer.status).toMatchObject({ allowed: false, denied: true });
    expect(answer.status.reason).toContain('Contractors cannot open shells or tunnels into pods.');
  });

  it('has no opinion when nothing matched, so RBAC decides', async () => {
    const answer = await authorize(
      accessReview('jane', ['developers'], {
        namespace: 'dev',
        verb: 'get',
        resource: 'pods',
        name: 'web-0',
      }),
    );
    expect(answer.status.allowed).toBe(false);
    expect(answer.status).not.toHaveProperty('denied');
  });

  it('hard-denies kubectl exec and port-forward into prod with the elevate command', async () => {
    for (const subresource of ['exec', 'portforward']) {
      const answer = await authorize(
        accessReview('alice', ['sre'], {
          namespace: 'prod',
          verb: 'create',
          resource: 'pods',
          subresource,
          name: 'web-0',
        }),
      );
      expect(answer.status).toMatchObject({ allowed: false, denied: true });
      expect(answer.status.reason).toContain(
        `Step-up required: authenticate with mfa within the last 5m. Run: npx stepgate elevate --action 'k8s:create:pods/${subresource}' --resource 'prod/web-0' and retry.`,
      );
    }
  });

  it('allows a get by an operator', async () => {
    const answer = await authorize(
      accessReview('alice', ['sre'], {
        namespace: 'prod',
        verb: 'get',
        resource: 'configmaps',
        name: 'app-config',
      }),
    );
    expect(answer.status.allowed).toBe(true);
  });

  it('answers a malformed review with a 400 JSON error', async () => {
    const result = await call(agent.url, 'POST', '/v1/k8s/authorize', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'jane', groups: [] },
    });
    expect(result.status).toBe(400);
    expect(result.body.message).toMatch(
      /exactly one of spec.resourceAttributes and spec.nonResourceAttributes/,
    );
  });
});

describe('grants pushed by the control plane', () => {
  it("lets alice's retried admission request pass once she has elevated", async () => {
    const review = () =>
      admission({
        operation: 'UPDATE',
        resource: 'configmaps',
        namespace: 'prod',
        name: 'app-config',
      });
    const before = await admit(review());
    expect(before.response.allowed).toBe(false);

    const now = Date.now();
    const grantId = randomUUID();
    const jws = await signGrant(
      {
        format: GRANT_FORMAT,
        id: grantId,
        subject: 'alice',
        kind: 'elevation',
        amr: ['otp'],
        level: 'mfa',
        authTime: new Date(now - 1000).toISOString(),
        approvals: [],
        actions: ['k8s:update:configmaps'],
        resources: ['prod/app-config'],
        issuedAt: new Date(now - 1000).toISOString(),
        expiresAt: new Date(now + 10 * 60_000).toISOString(),
      },
      { kid: signingKey.kid, privateKey: signingKey.privateKey },
    );
    plane.pushGrants({ full: false, grants: [jws], revoked: [] });

    let after = before;
    await waitFor(
      'the grant to be honoured',
      async () => {
        after = await admit(review());
        return after.response.allowed;
      },
      10_000,
    );
    expect(after.response.auditAnnotations).toMatchObject({ decision: 'allow', grant: grantId });

    // The grant is scoped: a different ConfigMap still needs the step-up.
    const other = await admit(
      admission({
        operation: 'UPDATE',
        resource: 'configmaps',
        namespace: 'prod',
        name: 'other-config',
      }),
    );
    expect(other.response.allowed).toBe(false);
  });
});

describe('with the example policy repository (policies/kubernetes)', () => {
  it("names the elevate command and quotes the policy's own message", async () => {
    await publish(examplePolicies(), 2);
    await revisionOnAgent(2);
    const answer = await admit(
      admission({
        operation: 'UPDATE',
        resource: 'configmaps',
        namespace: 'prod-payments',
        name: 'app-config',
        username: 'dana',
        groups: ['sre'],
      }),
    );
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.message).toBe(
      "Step-up required: authenticate with mfa within the last 5m. Run: npx stepgate elevate --action 'k8s:update:configmaps' --resource 'prod-payments/app-config' and retry. " +
        'Policy: Changing production configuration or secrets, or opening a shell in a production pod, needs MFA within the last 5 minutes.',
    );
    expect(answer.response.auditAnnotations).toMatchObject({
      revision: '2',
      rule: 'kubernetes-prod-sensitive-changes/fresh-mfa',
    });

    // Reads by an engineer are allowed by kubernetes-access; Secrets are not theirs to read.
    const read = await authorize(
      accessReview('erin', ['developers'], {
        namespace: 'prod',
        verb: 'get',
        resource: 'configmaps',
        name: 'app-config',
      }),
    );
    expect(read.status.allowed).toBe(true);
    const secret = await authorize(
      accessReview('erin', ['developers'], {
        namespace: 'prod',
        verb: 'get',
        resource: 'secrets',
        name: 'db',
      }),
    );
    expect(secret.status).toMatchObject({ allowed: false });
    expect(secret.status).not.toHaveProperty('denied');
  });
});
