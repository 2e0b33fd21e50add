import {
  decisionRequestSchema,
  DOCS_ASSET_FILES,
  DOCS_ASSETS_PATH,
  DOCS_INIT_FILE,
  openApiPathParameters,
} from '@stepgate/protocol';
// Through its own entry point: only this module (imported on the first /openapi.json) needs the
// admin API's schemas, and through the package index they were built at every agent start.
import { checkResponseSchema, errorResponseSchema } from '@stepgate/protocol/admin-api';
import { z } from 'zod';
import { AUTHZEN_METADATA_PATH } from './authzen-metadata.js';
import { SEARCH_PATHS } from './authzen-search.js';
import { AUTHZ_HTTP_PATH } from './authz-http.js';
import { K8S_ADMISSION_PATH, K8S_AUTHORIZE_PATH } from './k8s-routes.js';

/**
 * The agent's OpenAPI document, built on the first request for it (never on the decision
 * path): the native decision input and answer come from the protocol's zod schemas; the
 * AuthZEN and Kubernetes bodies are the shapes their specifications define, which the agent
 * parses by hand (no zod schema of them exists), written here as JSON Schema.
 */

type Schema = Record<string, unknown>;
type Method = 'get' | 'post' | 'head' | 'put' | 'patch' | 'delete' | 'options';

interface RouteDoc {
  method: Method;
  path: string;
  summary: string;
  tags: string[];
  /** Who may call: `bearer` takes an optional token (step-up evidence), `none` takes none. */
  auth: 'bearer' | 'none';
  body?: Schema;
  response?: Schema;
  /** Content type of the 200 answer when it is not JSON. */
  produces?: string;
}

const fromZod = (schema: z.ZodType, io: 'input' | 'output' = 'input'): Schema =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Schema;

const object = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
});
const string: Schema = { type: 'string' };
const properties: Schema = {
  type: 'object',
  description: 'Any JSON object; mapped to the attributes conditions read',
};

/** AuthZEN entities (subject, resource): `type` and `id`, optional properties. */
const entity = object({ type: string, id: string, properties }, ['type', 'id']);
const action = object(
  { name: string, properties: { ...properties, description: 'actionAttributes in conditions' } },
  ['name'],
);
const evaluationRequest = object(
  { subject: entity, action, resource: entity, context: properties },
  ['subject', 'action', 'resource'],
);
const evaluationResponse = object(
  {
    decision: { type: 'boolean' },
    context: {
      ...properties,
      description:
        'effect, reasons, and with a step-up step_up: {level, acr_values, max_age, approvals, unmet} and reason_user',
    },
  },
  ['decision'],
);
const searchRequest = (searched: 'subject' | 'resource' | 'action'): Schema =>
  object({
    subject: searched === 'subject' ? object({ type: string }, ['type']) : entity,
    action: searched === 'action' ? object({}) : action,
    resource: searched === 'resource' ? object({ type: string }, ['type']) : entity,
    context: properties,
    page: object({ token: string, limit: { type: 'integer', minimum: 1 } }),
  });
const searchResponse = (result: Schema): Schema =>
  object(
    {
      page: object({ next_token: string, count: { type: 'integer' }, total: { type: 'integer' } }, [
        'next_token',
        'count',
      ]),
      results: { type: 'array', items: result },
    },
    ['page', 'results'],
  );
const kubernetesReview = (kind: string): Schema => ({
  type: 'object',
  description: `A Kubernetes ${kind} (apiVersion, kind, request/spec), as the API server sends it`,
  required: ['apiVersion', 'kind'],
  properties: { apiVersion: string, kind: string },
});

/** The decision an agent answers: the policy decision plus what only an agent knows. */
const agentDecision = checkResponseSchema.shape.decision.extend({
  failReason: z
    .string()
    .optional()
    .meta({ description: 'Set when the fail mode decided (no valid bundle, or a stale one)' }),
  shadow: z
    .object({ effect: z.string(), revision: z.int() })
    .optional()
    .meta({ description: "The shadow version's effect, where it differs" }),
  grants: z.array(z.string()).optional().meta({ description: 'Grants that met a step-up' }),
});

const AUTHZ_HTTP_METHODS: Method[] = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];

const ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/decide',
    summary:
      'Decide a request with the active bundle (a bearer token, if sent, is verified and is the step-up evidence; its subject must be principal.id)',
    tags: ['decisions'],
    auth: 'bearer',
    body: fromZod(decisionRequestSchema),
    response: fromZod(agentDecision, 'output'),
  },
  {
    method: 'post',
    path: '/access/v1/evaluation',
    summary: 'OpenID AuthZEN 1.0 access evaluation: decision true only for allow',
    tags: ['AuthZEN'],
    auth: 'bearer',
    body: evaluationRequest,
    response: evaluationResponse,
  },
  {
    method: 'post',
    path: '/access/v1/evaluations',
    summary:
      'OpenID AuthZEN 1.0 batch evaluation: defaults merged into each of evaluations[], answered in order (evaluations_semantic execute_all, deny_on_first_deny, permit_on_first_permit)',
    tags: ['AuthZEN'],
    auth: 'bearer',
    body: {
      ...evaluationRequest,
      required: [],
      properties: {
        ...(evaluationRequest.properties as Schema),
        evaluations: { type: 'array', items: evaluationRequest },
        options: object({
          evaluations_semantic: {
            enum: ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'],
          },
        }),
      },
    },
    response: object({ evaluations: { type: 'array', items: evaluationResponse } }),
  },
  {
    method: 'post',
    path: SEARCH_PATHS.subject,
    summary:
      'OpenID AuthZEN 1.0 subject search: the declared subjects of subject.type that are allowed the action on the resource',
    tags: ['AuthZEN'],
    auth: 'bearer',
    body: searchRequest('subject'),
    response: searchResponse(object({ type: string, id: string }, ['type', 'id'])),
  },
  {
    method: 'post',
    path: SEARCH_PATHS.resource,
    summary:
      'OpenID AuthZEN 1.0 resource search: the declared resources of resource.type the subject is allowed the action on',
    tags: ['AuthZEN'],
    auth: 'bearer',
    body: searchRequest('resource'),
    response: searchResponse(object({ type: string, id: string }, ['type', 'id'])),
  },
  {
    method: 'post',
    path: SEARCH_PATHS.action,
    summary:
      'OpenID AuthZEN 1.0 action search: the declared actions the subject is allowed on the resource',
    tags: ['AuthZEN'],
    auth: 'bearer',
    body: searchRequest('action'),
    response: searchResponse(object({ name: string }, ['name'])),
  },
  {
    method: 'get',
    path: AUTHZEN_METADATA_PATH,
    summary: 'AuthZEN PDP metadata: the policy_decision_point and its endpoints',
    tags: ['AuthZEN'],
    auth: 'none',
    response: object({ policy_decision_point: string }, ['policy_decision_point']),
  },
  ...AUTHZ_HTTP_METHODS.flatMap((method): RouteDoc[] =>
    [AUTHZ_HTTP_PATH, `${AUTHZ_HTTP_PATH}/{path}`].map((path) => ({
      method,
      path,
      summary:
        'Reverse-proxy check (nginx auth_request, Envoy ext_authz, Traefik ForwardAuth): the original request (X-Forwarded-*/X-Original-* headers, or the path after /v1/authz/http) decided; 200 with x-stepgate-principal, 403, or 401 with an RFC 9470 challenge',
      tags: ['reverse proxies'],
      auth: 'bearer',
    })),
  ),
  {
    method: 'post',
    path: K8S_ADMISSION_PATH,
    summary: 'Kubernetes validating admission webhook (AdmissionReview in, AdmissionReview out)',
    tags: ['Kubernetes'],
    auth: 'none',
    body: kubernetesReview('AdmissionReview'),
    response: kubernetesReview('AdmissionReview'),
  },
  {
    method: 'post',
    path: K8S_AUTHORIZE_PATH,
    summary: 'Kubernetes authorization webhook (SubjectAccessReview in and out)',
    tags: ['Kubernetes'],
    auth: 'none',
    body: kubernetesReview('SubjectAccessReview'),
    response: kubernetesReview('SubjectAccessReview'),
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    tags: ['operations'],
    auth: 'none',
    response: object({ status: { const: 'ok' } }, ['status']),
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: 200 with a verified bundle, 503 before',
    tags: ['operations'],
    auth: 'none',
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tags: ['operations'],
    auth: 'none',
    produces: 'text/plain',
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This OpenAPI document',
    tags: ['documentation'],
    auth: 'none',
  },
  {
    method: 'get',
    path: '/docs',
    summary: 'This API reference in a browser (Swagger UI, served by the agent)',
    tags: ['documentation'],
    auth: 'none',
    produces: 'text/html',
  },
  ...[...DOCS_ASSET_FILES, DOCS_INIT_FILE].map((file): RouteDoc => ({
    method: 'get',
    path: `${DOCS_ASSETS_PATH}/${file}`,
    summary: 'A file of the API reference page',
    tags: ['documentation'],
    auth: 'none',
    produces: file.endsWith('.css') ? 'text/css' : 'text/javascript',
  })),
];

export function buildAgentOpenApiDocument(): Record<string, unknown> {
  const error = { 'application/json': { schema: fromZod(errorResponseSchema) } };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const parameters = openApiPathParameters(route.path);
    (paths[route.path] ??= {})[route.method] = {
      summary: route.summary,
      tags: route.tags,
      // A bearer token is optional everywhere: without one the caller is anonymous.
      security: route.auth === 'bearer' ? [{}, { bearer: [] }] : [],
      parameters,
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: route.body } },
            },
          }
        : {}),
      responses: {
        '200': {
          description: 'OK',
          ...(route.response
            ? { content: { 'application/json': { schema: route.response } } }
            : route.produces
              ? { content: { [route.produces]: {} } }
              : {}),
        },
        default: { description: 'Error', content: error },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Stepgate agent',
      version: '1',
      description:
        'Decides locally from the signed bundle it holds. Every error is {error, message, details?} with the status of its code.',
    },
    externalDocs: {
      description: 'OpenID AuthZEN Authorization API 1.0',
      url: 'https://openid.net/specs/authorization-api-1_0.html',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
