/**
 * The endpoint catalogue of the malformed-input drill. The control plane's routes come from
 * its own OpenAPI document (`GET /docs`), so a new route is drilled without touching this file;
 * the routes the document does not list (Git smart HTTP, the OpenAPI document itself) and the
 * agent's routes are listed here.
 */
import type { JsonSchema } from './json-schema.js';
import { sampleOf } from './json-schema.js';

export type Target = 'cp' | 'agent';

/**
 * How a route authenticates: `bearer` (admin API scopes), `public`, `webhook` (the forge's
 * signature), `git` (HTTP basic, token as password), `evidence` (the agent: an optional
 * bearer JWT is evidence, never required).
 */
export type AuthKind = 'bearer' | 'public' | 'webhook' | 'git' | 'evidence';

export interface Endpoint {
  target: Target;
  method: string;
  /** With `{param}` placeholders. */
  path: string;
  label: string;
  auth: AuthKind;
  /** The body's JSON Schema (control plane routes, from the OpenAPI document). */
  schema?: JsonSchema;
  /** A body believed to be valid, which the drill breaks in many ways. */
  sample?: unknown;
  /**
   * A well-formed request with junk inside may legitimately succeed here (reads, health,
   * the reverse-proxy check, routes without a body schema); elsewhere junk must be a 4xx.
   */
  lenient: boolean;
  /** Error answers are JSON `{error, message}` (all but Git smart HTTP). */
  jsonErrors: boolean;
  /** Bodies above this many bytes must be refused with 413 (undefined: not checked). */
  bodyLimit?: number;
  /** Unknown fields at the top level of the body are refused (the edge is strict). */
  strict: boolean;
  /** Dot paths of the fields whose type the route checks (else taken from `schema`). */
  fields?: string[];
}

/** `express.json({limit: '1mb'})` on the control plane. */
const CP_BODY_LIMIT = 1024 * 1024;
/** MAX_BODY_BYTES in apps/agent/src/http/server.ts and MAX_REVIEW_BYTES for the webhooks. */
const AGENT_BODY_LIMIT = 1024 * 1024;
const AGENT_REVIEW_LIMIT = 8 * 1024 * 1024;

interface OpenApiOperation {
  security?: Record<string, string[]>[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

/** Every operation of the control plane's OpenAPI document, plus the undocumented routes. */
export function controlPlaneEndpoints(document: {
  paths: Record<string, Record<string, OpenApiOperation>>;
}): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [lower, operation] of Object.entries(operations)) {
      const method = lower.toUpperCase();
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      const secured = (operation.security ?? []).length > 0;
      const auth: AuthKind = secured
        ? 'bearer'
        : path.startsWith('/v1/webhooks/')
          ? 'webhook'
          : 'public';
      endpoints.push({
        target: 'cp',
        method,
        path,
        label: `${method} ${path}`,
        auth,
        ...(schema ? { schema, sample: sampleOf(schema) } : {}),
        lenient: method === 'GET' || (schema === undefined && auth !== 'webhook'),
        jsonErrors: true,
        strict:
          (schema as { additionalProperties?: unknown } | undefined)?.additionalProperties ===
          false,
        bodyLimit: CP_BODY_LIMIT,
      });
    }
  }
  const extra: Omit<Endpoint, 'target' | 'label' | 'strict'>[] = [
    { method: 'GET', path: '/docs', auth: 'public', lenient: true, jsonErrors: true },
    { method: 'GET', path: '/docs/openapi.json', auth: 'public', lenient: true, jsonErrors: true },
    // Git answers its own protocol; a valid credential with a junk body may get a 200 whose
    // pkt-lines carry git's error, as for any git server.
    {
      method: 'GET',
      path: '/git/policies.git/info/refs?service=git-upload-pack',
      auth: 'git',
      lenient: true,
      jsonErrors: false,
    },
    {
      method: 'POST',
      path: '/git/policies.git/git-upload-pack',
      auth: 'git',
      lenient: true,
      jsonErrors: false,
    },
    {
      method: 'POST',
      path: '/git/policies.git/git-receive-pack',
      auth: 'git',
      lenient: true,
      jsonErrors: false,
    },
    // A route that does not exist must stay a 404, whatever is sent to it.
    { method: 'POST', path: '/v1/no-such-route', auth: 'public', lenient: false, jsonErrors: true },
  ];
  for (const e of extra)
    endpoints.push({
      ...e,
      target: 'cp',
      label: `${e.method} ${e.path.split('?')[0]}`,
      strict: false,
    });
  return endpoints;
}

/** A valid decision input, an AuthZEN evaluation, an AdmissionReview and a SubjectAccessReview. */
export interface AgentSamples {
  decide: Record<string, unknown>;
}

const DECIDE_FIELDS = [
  'principal',
  'principal.id',
  'principal.roles',
  'principal.groups',
  'principal.attributes',
  'action',
  'actionAttributes',
  'resource',
  'resource.kind',
  'resource.id',
  'resource.attributes',
  'context',
];
const EVALUATION_FIELDS = [
  'subject',
  'subject.type',
  'subject.id',
  'subject.properties',
  'action',
  'action.name',
  'action.properties',
  'resource',
  'resource.type',
  'resource.id',
  'resource.properties',
  'context',
];
const ADMISSION_FIELDS = [
  'apiVersion',
  'kind',
  'request',
  'request.uid',
  'request.operation',
  'request.resource',
  'request.resource.resource',
  'request.userInfo',
  'request.userInfo.username',
  'request.userInfo.groups',
  'request.namespace',
  'request.name',
];
const ACCESS_REVIEW_FIELDS = [
  'apiVersion',
  'kind',
  'spec',
  'spec.user',
  'spec.groups',
  'spec.resourceAttributes',
  'spec.resourceAttributes.verb',
  'spec.resourceAttributes.resource',
];

export function agentEndpoints(samples: AgentSamples): Endpoint[] {
  const input = samples.decide as {
    principal: { id: string; roles?: string[]; attributes?: Record<string, unknown> };
    action: string;
    resource: { kind: string; id: string; attributes?: Record<string, unknown> };
    context?: Record<string, unknown>;
  };
  const evaluation = {
    subject: {
      type: 'user',
      id: input.principal.id,
      properties: { roles: input.principal.roles ?? [] },
    },
    action: { name: input.action },
    resource: { type: input.resource.kind, id: input.resource.id },
    context: input.context ?? {},
  };
  const admission = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'settings',
      namespace: 'default',
      operation: 'UPDATE',
      userInfo: { username: 'drill-user', uid: 'u-1', groups: ['system:authenticated'] },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } },
      oldObject: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } },
      dryRun: true,
    },
  };
  const accessReview = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      resourceAttributes: { namespace: 'default', verb: 'get', version: 'v1', resource: 'pods' },
      user: 'drill-user',
      groups: ['system:authenticated'],
      uid: 'u-1',
    },
  };
  const post = (
    path: string,
    sample: unknown,
    options: Partial<Endpoint> = {},
  ): Omit<Endpoint, 'target' | 'label'> => ({
    method: 'POST',
    path,
    auth: 'evidence',
    sample,
    lenient: false,
    jsonErrors: true,
    bodyLimit: AGENT_BODY_LIMIT,
    strict: true,
    ...options,
  });
  const get = (path: string): Omit<Endpoint, 'target' | 'label'> => ({
    method: 'GET',
    path,
    auth: 'public',
    lenient: true,
    jsonErrors: true,
    strict: false,
  });
  const list: Omit<Endpoint, 'target' | 'label'>[] = [
    post('/v1/decide', input, { fields: DECIDE_FIELDS }),
    // AuthZEN: a PDP MUST ignore unknown fields (forward compatibility).
    post('/access/v1/evaluation', evaluation, { strict: false, fields: EVALUATION_FIELDS }),
    // An invalid item of a batch is answered in place (decision false), so 200 is legitimate.
    post(
      '/access/v1/evaluations',
      { evaluations: [evaluation, evaluation] },
      { lenient: true, fields: ['evaluations', 'options'] },
    ),
    // The reverse-proxy check decides any request: 200/401/403 are its answers to junk.
    { ...get('/v1/authz/http'), auth: 'evidence' },
    post('/v1/authz/http', undefined, { lenient: true, bodyLimit: AGENT_BODY_LIMIT }),
    // Kubernetes adds fields to its reviews over time: unknown ones are tolerated there.
    post('/v1/k8s/admission', admission, {
      auth: 'public',
      bodyLimit: AGENT_REVIEW_LIMIT,
      strict: false,
      fields: ADMISSION_FIELDS,
    }),
    post('/v1/k8s/authorize', accessReview, {
      auth: 'public',
      bodyLimit: AGENT_REVIEW_LIMIT,
      strict: false,
      fields: ACCESS_REVIEW_FIELDS,
    }),
    get('/.well-known/authzen-configuration'),
    get('/healthz'),
    get('/readyz'),
    get('/metrics'),
  ];
  return list.map((e) => ({ ...e, target: 'agent', label: `${e.method} ${e.path}` }));
}

/** The other methods a path may be sent with (each must be a 404/405, HEAD/OPTIONS may pass). */
export const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE'];
