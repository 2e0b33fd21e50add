import { createHash } from 'node:crypto';
import type { DecisionPoint, VerifiedToken } from '@stepgate/agent-core';
import type { AuthEvidence, DecisionRequest, DeclaredEntity, Entities } from '@stepgate/policy';
import { canonicalJson } from '@stepgate/protocol';
import { toDecisionRequest } from './authzen.js';
import { evidenceForPrincipal } from './bearer.js';
import { invalidRequest, isObject } from './decision-input.js';

/**
 * OpenID AuthZEN Authorization API 1.0, the Search APIs: which subjects, resources or actions
 * the policies permit, among the entities the active bundle declares (`kind: Entities`
 * documents of the policy repository). Each candidate is decided by the decision point exactly
 * as an evaluation would be, with its declared properties, and is a result only when the
 * answer is `allow`: a step-up is not a permit (an evaluation answers it `decision: false`, and
 * a search result should evaluate to true).
 *
 * The searched entity names only a type (its `id`, and its properties, are ignored); every
 * input entity must be fully identified (400 otherwise), and its properties are the request's.
 * An unknown type or id is an empty result, never an error.
 */

export type SearchKind = 'subject' | 'resource' | 'action';

export const SEARCH_PATHS: Readonly<Record<SearchKind, string>> = {
  subject: '/access/v1/search/subject',
  resource: '/access/v1/search/resource',
  action: '/access/v1/search/action',
};

/** Results per page when the request sets no `page.limit`. */
export const DEFAULT_PAGE_LIMIT = 100;
/** The largest `page.limit` honoured; a larger one is taken as this (a limit is a maximum). */
export const MAX_PAGE_LIMIT = 1000;
/**
 * Candidates decided per request, whatever the limit, so the work of one request stays bounded
 * when few candidates are permitted (1000 decisions of the certification fixture took 34 ms on
 * a 2-core machine under a load of 13; the event loop waits that long). A page may then hold
 * fewer results than the limit with a non-empty `next_token`.
 */
export const MAX_DECISIONS_PER_SEARCH = 1000;

export interface SearchEntity {
  type: string;
  id: string;
}

export interface SearchResponse {
  /** First, as the specification recommends, so a PEP can read `count` early. */
  page: { next_token: string; count: number; total?: number };
  results: (SearchEntity | { name: string })[];
}

/** What the search needs of the decision point. */
export type SearchPoint = Pick<DecisionPoint, 'decide' | 'entities'>;

/** A search request checked for its kind: the input side mapped, the searched type known. */
interface SearchQuery {
  kind: SearchKind;
  /** The decision input with a stand-in for the searched entity (replaced per candidate). */
  base: DecisionRequest;
  /** The searched type (subject and resource searches). */
  type: string;
  /** The input subject's id (resource and action searches), for the bearer token's check. */
  subjectId: string;
  limit: number;
  token: string | undefined;
  /** Identifies the query across pages (every field but `page`). */
  hash: string;
}

const STAND_IN = 'search';

/**
 * Answers one search request. `caller` is the verified bearer token, if any: its evidence
 * belongs to its own principal only, so in a subject search it applies to the candidate with
 * that id and to no other; in a resource or action search the input subject must be the
 * token's principal (as in an evaluation).
 * @throws StepgateError `request/invalid` (400) for a malformed request or page token;
 *   InvalidTokenError (401) when the token belongs to another subject than the input one.
 */
export function search(
  kind: SearchKind,
  body: unknown,
  point: SearchPoint,
  caller?: VerifiedToken,
): SearchResponse {
  const query = parseSearch(kind, body);
  const held = point.entities;
  const revision = held?.revision ?? 0;
  const candidates = candidatesFor(query, held?.entities);
  const start = query.token === undefined ? 0 : readPageToken(query, revision, candidates.length);
  const shared = kind === 'subject' ? undefined : evidenceForPrincipal(caller, query.subjectId);

  const results: SearchResponse['results'] = [];
  let next = start;
  while (
    next < candidates.length &&
    results.length < query.limit &&
    next - start < MAX_DECISIONS_PER_SEARCH
  ) {
    const candidate = candidates[next++] as DeclaredEntity | string;
    const request = withCandidate(query, candidate);
    const evidence: AuthEvidence | undefined =
      kind === 'subject'
        ? caller?.principal.id === request.principal.id
          ? caller.evidence
          : undefined
        : shared;
    // Search answers are not access attempts: they leave no decision-log record each.
    if (point.decide(request, evidence, { record: false }).effect !== 'allow') continue;
    results.push(
      typeof candidate === 'string'
        ? { name: candidate }
        : { type: candidate.type, id: candidate.id },
    );
  }
  const page: SearchResponse['page'] = {
    next_token: next < candidates.length ? pageToken(query, revision, next) : '',
    count: results.length,
  };
  // Known only when this one page decided every candidate.
  if (start === 0 && next === candidates.length) page.total = results.length;
  return { page, results };
}

/**
 * Checks a search body for its kind and maps the input side once. Fields AuthZEN does not
 * define are ignored, as in evaluations.
 */
export function parseSearch(kind: SearchKind, body: unknown): SearchQuery {
  if (!isObject(body))
    throw invalidRequest(`the body must be a JSON object (a ${kind} search request)`);
  const { subject, action, resource, context } = body;
  const target = kind === 'subject' ? subject : kind === 'resource' ? resource : undefined;

  if (kind !== 'action') {
    if (!isObject(target))
      throw invalidRequest(`${kind} is required: an object with the type to search for`);
    if (typeof target.type !== 'string' || target.type === '')
      throw invalidRequest(`${kind}.type must be a non-empty string: the type to search for`);
  }
  const inputs: Record<string, Record<string, unknown>> = {};
  for (const name of ['subject', 'resource'] as const) {
    if (name === kind) continue;
    const entity = name === 'subject' ? subject : resource;
    if (!isObject(entity))
      throw invalidRequest(
        `${name} is required: an object with type and id (the ${name} is an input of a ${kind} search)`,
      );
    if (typeof entity.type !== 'string' || entity.type === '')
      throw invalidRequest(`${name}.type must be a non-empty string`);
    if (typeof entity.id !== 'string' || entity.id === '')
      throw invalidRequest(
        `${name}.id must be a non-empty string: an input of a ${kind} search is fully identified (only the searched ${kind} omits its id)`,
      );
    inputs[name] = pick(entity, ['type', 'id', 'properties']);
  }
  let actionInput: Record<string, unknown> = { name: STAND_IN };
  if (kind !== 'action') {
    if (!isObject(action)) throw invalidRequest(`action is required: an object with a name`);
    if (typeof action.name !== 'string' || action.name === '')
      throw invalidRequest('action.name must be a non-empty string');
    actionInput = pick(action, ['name', 'properties']);
  }

  const standIn = (type: unknown) => ({
    type: typeof type === 'string' ? type : STAND_IN,
    id: STAND_IN,
  });
  const evaluation: Record<string, unknown> = {
    subject: inputs.subject ?? standIn(isObject(subject) ? subject.type : undefined),
    action: actionInput,
    resource: inputs.resource ?? standIn(isObject(resource) ? resource.type : undefined),
  };
  if (context !== undefined) evaluation.context = context;
  // The one AuthZEN mapping (and the shared decision-input checks and limits), in its names.
  const base = toDecisionRequest(evaluation);

  const { limit, token } = parsePage(body.page);
  const type = isObject(target) ? (target.type as string) : '';
  // The searched entity counts by its type only: its id and properties are ignored. The limit
  // may change between pages: the certification scenario sends the follow-up without it.
  const identity: Record<string, unknown> = { kind, type, action: actionInput, ...inputs };
  if (context !== undefined) identity.context = context;
  const hash = createHash('sha256')
    .update(canonicalJson(identity))
    .digest('base64url')
    .slice(0, 22);
  return {
    kind,
    base,
    type,
    subjectId: (inputs.subject?.id as string | undefined) ?? '',
    limit,
    token,
    hash,
  };
}

function parsePage(page: unknown): { limit: number; token: string | undefined } {
  if (page === undefined || page === null) return { limit: DEFAULT_PAGE_LIMIT, token: undefined };
  if (!isObject(page)) throw invalidRequest('page must be an object with limit and/or token');
  let limit = DEFAULT_PAGE_LIMIT;
  if (page.limit !== undefined) {
    if (typeof page.limit !== 'number' || !Number.isInteger(page.limit) || page.limit < 0)
      throw invalidRequest('page.limit must be a non-negative integer');
    limit = Math.min(page.limit, MAX_PAGE_LIMIT);
  }
  if (page.token !== undefined && typeof page.token !== 'string')
    throw invalidRequest('page.token must be a string: the next_token of the previous page');
  // An empty token is the end-of-results marker sent back: it asks for the first page.
  return { limit, token: page.token === '' ? undefined : (page.token as string | undefined) };
}

/** Own fields only, those the mapping reads: everything else is ignored. */
function pick(value: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) if (Object.hasOwn(value, field)) picked[field] = value[field];
  return picked;
}

const indexes = new WeakMap<
  Entities,
  { subjects: Map<string, DeclaredEntity[]>; resources: Map<string, DeclaredEntity[]> }
>();

/** The declared candidates of a query, in declaration order (indexed by type once per bundle). */
function candidatesFor(
  query: SearchQuery,
  entities: Entities | undefined,
): readonly (DeclaredEntity | string)[] {
  if (entities === undefined) return [];
  if (query.kind === 'action') return entities.actions;
  let index = indexes.get(entities);
  if (index === undefined) {
    index = { subjects: byType(entities.subjects), resources: byType(entities.resources) };
    indexes.set(entities, index);
  }
  return (query.kind === 'subject' ? index.subjects : index.resources).get(query.type) ?? [];
}

function byType(entities: readonly DeclaredEntity[]): Map<string, DeclaredEntity[]> {
  const map = new Map<string, DeclaredEntity[]>();
  for (const entity of entities) {
    const list = map.get(entity.type);
    if (list === undefined) map.set(entity.type, [entity]);
    else list.push(entity);
  }
  return map;
}

/** The decision input for one candidate: the query's input side, the candidate's own fields. */
function withCandidate(query: SearchQuery, candidate: DeclaredEntity | string): DecisionRequest {
  if (typeof candidate === 'string') return { ...query.base, action: candidate };
  const entity: Record<string, unknown> = { type: candidate.type, id: candidate.id };
  if (candidate.properties !== undefined) entity.properties = candidate.properties;
  const mapped = toDecisionRequest({
    subject: query.kind === 'subject' ? entity : { type: STAND_IN, id: STAND_IN },
    action: { name: STAND_IN },
    resource: query.kind === 'resource' ? entity : { type: STAND_IN, id: STAND_IN },
  });
  return query.kind === 'subject'
    ? { ...query.base, principal: mapped.principal }
    : { ...query.base, resource: mapped.resource };
}

/**
 * `next_token`: opaque to the PEP, base64url of `[1, offset, revision, query hash]`. A token
 * of another query, or of another revision of the policies (the candidates and decisions may
 * have changed), is refused with a 400 that says to start again.
 */
function pageToken(query: SearchQuery, revision: number, offset: number): string {
  return Buffer.from(JSON.stringify([1, offset, revision, query.hash])).toString('base64url');
}

function readPageToken(query: SearchQuery, revision: number, candidates: number): number {
  const invalid = (why: string) =>
    invalidRequest(
      `page.token ${why}; send the request again without page.token to start from the first page`,
    );
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(query.token ?? '', 'base64url').toString('utf8'));
  } catch {
    throw invalid('is not a next_token this agent issued');
  }
  if (
    !Array.isArray(fields) ||
    fields.length !== 4 ||
    fields[0] !== 1 ||
    !Number.isInteger(fields[1]) ||
    !Number.isInteger(fields[2]) ||
    typeof fields[3] !== 'string'
  )
    throw invalid('is not a next_token this agent issued');
  const [, offset, tokenRevision, hash] = fields as [number, number, number, string];
  if (hash !== query.hash)
    throw invalid(
      'belongs to another search: every field but page.token must be as in the request that returned it',
    );
  if (tokenRevision !== revision)
    throw invalid(
      `was issued for policy revision ${tokenRevision} and the agent now enforces revision ${revision}`,
    );
  if (offset < 0 || offset > candidates) throw invalid('is not a next_token this agent issued');
  return offset;
}
