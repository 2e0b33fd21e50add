/**
 * Every YAML document under deploy/kubernetes is valid against the Kubernetes API schemas
 * (kubernetes-models, and @kubernetes-models/cert-manager for cert-manager's CRDs) and has no
 * field the schema does not know: the models' validators accept unknown fields (no
 * additionalProperties: false), so `strictlyValid` records which properties a validator reads
 * and fails on any it never looked at, the way `kubectl apply --validate=strict` does. The files
 * that are not API objects (kustomization.yaml, the API server's authorization files) are
 * checked with strict zod schemas. Each kustomization lists files that exist, and every
 * manifest in its folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as certManagerV1 from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import * as admissionV1 from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentIdPrefixSchema, agentIdSchema } from '@stepgate/protocol';
import { K8S_ADMISSION_PATH, K8S_AUTHORIZE_PATH } from '../../apps/agent/src/http/k8s-routes.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const manifestsRoot = join(repoRoot, 'deploy', 'kubernetes');

/** The API groups/versions the manifests may use: a model module each (exports kind classes). */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'policy/v1': policyV1,
  'networking.k8s.io/v1': networkingV1,
  'admissionregistration.k8s.io/v1': admissionV1,
  'cert-manager.io/v1': certManagerV1,
};

type Validatable = { prototype: { validate(this: unknown): void } };
interface Doc {
  file: string;
  index: number;
  value: Record<string, unknown>;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const files = walk(manifestsRoot).filter((file) => /\.(ya?ml|kubeconfig)$/.test(file));
const docs: Doc[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((doc, index) => {
    if (doc.errors.length > 0 || doc.warnings.length > 0)
      throw new Error(
        `${relative(repoRoot, file)}: ${[...doc.errors, ...doc.warnings][0]!.message}`,
      );
    return { file: relative(repoRoot, file), index, value: doc.toJS() as Record<string, unknown> };
  }),
);
const name = (doc: Doc) => `${doc.file}#${doc.index} ${String(doc.value.kind)}`;

/**
 * Runs the model's validator on `value` through proxies that note every property it reads;
 * returns the paths of properties it never read (unknown to the schema). Throws the
 * validator's own error (wrong type, missing required field, bad enum value).
 */
function strictlyValid(model: Validatable, value: object): string[] {
  const read = new WeakMap<object, Set<string>>();
  const seen: { path: string; object: object }[] = [];
  const track = (object: unknown, path: string): unknown => {
    if (object === null || typeof object !== 'object') return object;
    if (!read.has(object)) {
      read.set(object, new Set());
      seen.push({ path, object });
    }
    return new Proxy(object, {
      get(target, key, receiver) {
        const property: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string' || !Object.hasOwn(target, key)) return property;
        read.get(target)!.add(key);
        return track(property, `${path}/${key}`);
      },
    });
  };
  model.prototype.validate.call(track(value, ''));
  return seen.flatMap(({ path, object }) =>
    Array.isArray(object)
      ? []
      : Object.keys(object)
          .filter((key) => !read.get(object)!.has(key))
          .map((key) => `${path}/${key}`),
  );
}

// The documents that are not API objects, with the fields their tools accept (strict).
const kustomization = z
  .object({
    apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
    kind: z.literal('Kustomization'),
    namespace: z.string().optional(),
    labels: z
      .array(
        z
          .object({
            pairs: z.record(z.string(), z.string()),
            includeSelectors: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    resources: z.array(z.string()).min(1),
    images: z
      .array(z.object({ name: z.string(), newName: z.string(), newTag: z.string() }).strict())
      .optional(),
  })
  .strict();
const authorizationConfiguration = z
  .object({
    apiVersion: z.literal('apiserver.config.k8s.io/v1'),
    kind: z.literal('AuthorizationConfiguration'),
    authorizers: z.array(
      z
        .object({
          type: z.enum(['Node', 'RBAC', 'Webhook']),
          name: z.string(),
          webhook: z
            .object({
              timeout: z.string(),
              subjectAccessReviewVersion: z.enum(['v1', 'v1beta1']),
              matchConditionSubjectAccessReviewVersion: z.literal('v1'),
              failurePolicy: z.enum(['Deny', 'NoOpinion']),
              authorizedTTL: z.string(),
              unauthorizedTTL: z.string(),
              connectionInfo: z
                .object({ type: z.literal('KubeConfigFile'), kubeConfigFile: z.string() })
                .strict(),
            })
            .strict()
            .optional(),
        })
        .strict(),
    ),
  })
  .strict();
const kubeconfig = z
  .object({
    apiVersion: z.literal('v1'),
    kind: z.literal('Config'),
    clusters: z.array(
      z
        .object({
          name: z.string(),
          cluster: z
            .object({ server: z.url(), 'certificate-authority': z.string().optional() })
            .strict(),
        })
        .strict(),
    ),
    users: z.array(
      z
        .object({
          name: z.string(),
          user: z
            .object({
              'client-certificate': z.string().optional(),
              'client-key': z.string().optional(),
            })
            .strict(),
        })
        .strict(),
    ),
    contexts: z.array(
      z
        .object({
          name: z.string(),
          context: z.object({ cluster: z.string(), user: z.string() }).strict(),
        })
        .strict(),
    ),
    'current-context': z.string(),
  })
  .strict();
const HAND_CHECKED: Record<string, z.ZodType> = {
  Kustomization: kustomization,
  AuthorizationConfiguration: authorizationConfiguration,
  Config: kubeconfig,
};

const apiObjects = docs.filter((doc) => !(String(doc.value.kind) in HAND_CHECKED));
const ofKind = (kind: string) => apiObjects.filter((doc) => doc.value.kind === kind);
const one = (kind: string, objectName: string) => {
  const found = ofKind(kind).filter(
    (doc) => (doc.value.metadata as { name?: string }).name === objectName,
  );
  expect(found, `${kind} ${objectName}`).toHaveLength(1);
  return found[0]!.value as Record<string, any>;
};

describe('deploy/kubernetes', () => {
  it('has the manifests the deploy section describes', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const folder of ['base', 'agent-sidecar', 'agent-daemonset', 'webhooks'])
      expect(existsSync(join(manifestsRoot, folder, 'kustomization.yaml')), folder).toBe(true);
  });

  it.each(apiObjects.map((doc) => [name(doc), doc] as const))(
    '%s is valid against the API schema, with no unknown field',
    (_, doc) => {
      const models = MODELS[String(doc.value.apiVersion)];
      expect(models, `apiVersion ${String(doc.value.apiVersion)} has no model here`).toBeDefined();
      const model = models![String(doc.value.kind)] as Validatable | undefined;
      expect(
        model,
        `no ${String(doc.value.kind)} in ${String(doc.value.apiVersion)}`,
      ).toBeDefined();
      expect(strictlyValid(model!, doc.value)).toEqual([]);
    },
  );

  it.each(
    docs
      .filter((doc) => String(doc.value.kind) in HAND_CHECKED)
      .map((doc) => [name(doc), doc] as const),
  )('%s has only the fields its tool accepts', (_, doc) => {
    const result = HAND_CHECKED[String(doc.value.kind)]!.safeParse(doc.value);
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it('the strict check catches an unknown field (so the tests above can fail)', () => {
    const deployment = structuredClone(one('Deployment', 'stepgate-control-plane'));
    deployment.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    expect(strictlyValid(appsV1.Deployment as Validatable, deployment)).toEqual([
      '/spec/template/spec/containers/0/imagePullPolicyy',
    ]);
  });

  it('has no Secret with data: secrets are referenced, created by the user', () => {
    expect(ofKind('Secret')).toEqual([]);
  });

  it('every kustomization lists files that exist, and every manifest of its folder', () => {
    for (const doc of docs.filter((d) => d.value.kind === 'Kustomization')) {
      const dir = join(repoRoot, dirname(doc.file));
      const { resources } = kustomization.parse(doc.value);
      for (const resource of resources)
        expect(existsSync(join(dir, resource)), `${doc.file}: ${resource}`).toBe(true);
      const manifests = readdirSync(dir).filter(
        (file) => file.endsWith('.yaml') && file !== 'kustomization.yaml',
      );
      expect(resources.toSorted(), doc.file).toEqual(manifests.toSorted());
    }
  });

  it('runs the control plane highly available and locked down', () => {
    const deployment = one('Deployment', 'stepgate-control-plane');
    expect(deployment.spec.replicas).toBe(2);
    expect(one('PodDisruptionBudget', 'stepgate-control-plane').spec.minAvailable).toBe(1);
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const container = pod.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.resources.requests).toBeDefined();
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const secretRefs = (container.env as { valueFrom?: { secretKeyRef?: { name: string } } }[])
      .map((env) => env.valueFrom?.secretKeyRef?.name)
      .filter(Boolean);
    expect(new Set(secretRefs)).toEqual(new Set(['stepgate-control-plane']));
  });

  it('registers the agent webhook paths it serves, with the CA cert-manager injects', () => {
    const webhook = one('ValidatingWebhookConfiguration', 'stepgate');
    const [namespace, certificate] = String(
      webhook.metadata.annotations['cert-manager.io/inject-ca-from'],
    ).split('/');
    const cert = one('Certificate', certificate!);
    expect(cert.metadata.namespace).toBe(namespace);
    const service = webhook.webhooks[0].clientConfig.service;
    expect(service.path).toBe(K8S_ADMISSION_PATH);
    expect(cert.spec.dnsNames).toContain(`${service.name}.${service.namespace}.svc`);
    const agents = one('DaemonSet', 'stepgate-agent').spec.template.spec;
    expect(agents.volumes).toContainEqual({
      name: 'tls',
      secret: { secretName: cert.spec.secretName },
    });
    const config = one('ConfigMap', 'stepgate-agent').data;
    expect(config).toMatchObject({
      STEPGATE_TLS_CERT: expect.any(String),
      STEPGATE_TLS_KEY: expect.any(String),
    });

    const kubeconfigDoc = docs.find((doc) => doc.value.kind === 'Config')!;
    const server = new URL(kubeconfig.parse(kubeconfigDoc.value).clusters[0]!.cluster.server);
    expect(server.protocol).toBe('https:');
    expect(server.pathname).toBe(K8S_AUTHORIZE_PATH);
  });

  it('gives each DaemonSet agent its own id, node-<node name>, under the fleet token prefix', () => {
    const daemonSet = one('DaemonSet', 'stepgate-agent');
    const env = daemonSet.spec.template.spec.containers[0].env as EnvVar[];
    const nodeName = 'ip-10-0-1-23.eu-west-1.compute.internal';
    const id = expandEnv(env, { 'spec.nodeName': nodeName }).STEPGATE_AGENT_ID;
    expect(id).toBe(`node-${nodeName}`);
    expect(agentIdSchema.safeParse(id).success).toBe(true);
    // The fleet token the file's header tells operators to create admits exactly these ids.
    const header = readFileSync(join(manifestsRoot, 'agent-daemonset', 'daemonset.yaml'), 'utf8');
    const prefix = /--agent-id-prefix (\S+)/.exec(header)?.[1];
    expect(prefix).toBe('node-');
    expect(agentIdPrefixSchema.safeParse(prefix).success).toBe(true);
    expect(header).toContain(`"agentIdPrefix":"${prefix}"`);
    expect(id!.startsWith(prefix!) && id!.length > prefix!.length).toBe(true);
  });

  it('expands $(VAR) as the kubelet does: only variables defined earlier in the list', () => {
    const env: EnvVar[] = [
      { name: 'STEPGATE_AGENT_ID', value: 'node-$(NODE_NAME)' },
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ];
    // Defined after its use: left as written, so every pod would claim one literal id.
    expect(expandEnv(env, { 'spec.nodeName': 'n1' }).STEPGATE_AGENT_ID).toBe('node-$(NODE_NAME)');
    expect(expandEnv(env.toReversed(), { 'spec.nodeName': 'n1' }).STEPGATE_AGENT_ID).toBe(
      'node-n1',
    );
    expect(expandEnv([{ name: 'A', value: '$$(B)' }], {}).A).toBe('$(B)');
  });

  it('lets agents reach the control plane only on its port', () => {
    const agentPolicy = one('NetworkPolicy', 'stepgate-agent').spec;
    expect(agentPolicy.policyTypes).toContain('Egress');
    const controlPlanePort = one('Service', 'stepgate-control-plane').spec.ports[0].port;
    expect(agentPolicy.egress[0].ports).toEqual([{ protocol: 'TCP', port: controlPlanePort }]);
    const ingress = one('NetworkPolicy', 'stepgate-control-plane').spec.ingress;
    expect(ingress.flatMap((rule: { ports: unknown[] }) => rule.ports)).toEqual([
      { protocol: 'TCP', port: controlPlanePort },
    ]);
  });
});

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

/**
 * A container's environment as the kubelet builds it: downward-API fields from `fields`, and
 * `$(NAME)` in a value replaced by NAME's value when NAME was defined earlier in the list
 * (`$$` escapes a `$`); a reference to anything else is left as written.
 */
function expandEnv(env: readonly EnvVar[], fields: Record<string, string>): Record<string, string> {
  const defined: Record<string, string> = {};
  for (const variable of env) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    if (fieldPath !== undefined) {
      if (fields[fieldPath] !== undefined) defined[variable.name] = fields[fieldPath];
      continue;
    }
    if (variable.value === undefined) continue;
    defined[variable.name] = variable.value.replace(
      /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
      (match, name: string | undefined) =>
        name === undefined ? '$' : Object.hasOwn(defined, name) ? defined[name]! : match,
    );
  }
  return defined;
}
