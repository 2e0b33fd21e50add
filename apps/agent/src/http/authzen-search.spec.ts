import { describe, expect, it } from 'vitest';
import {
  compileMask,
  DecisionPoint,
  type BundleStore,
  type DecidePointOptions,
  type VerifiedToken,
} from '@stepgate/agent-core';
import { compile, PolicyEngine, type AuthEvidence, type DecisionRequest } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import {
  MAX_DECISIONS_PER_SEARCH,
  MAX_PAGE_LIMIT,
  search,
  type SearchKind,
  type SearchPoint,
  type SearchResponse,
} from './authzen-search.js';
import { InvalidTokenError } from './bearer.js';

const SETTINGS = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
levels:
  - name: mfa
    acr: ["urn:mfa"]
`;

// The certification scenario's decisions, plus a step-up on "approve".
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: records
rules:
  - name: read
    effect: allow
    when: action == "read"
  - name: admin-write
    effect: allow
    when: action == "write" && has(principal.attributes.role) && principal.attributes.role == "admin"
  - name: alice-write
    effect: allow
    when: >-
      action == "write" && principal.id == "alice" &&
      !(has(resource.attributes.status) && resource.attributes.status == "archived")
  - name: approve-mfa
    effect: step_up
    when: action == "approve"
    require: { level: mfa }
  - name: approve
    effect: allow
    when: action == "approve"
`;

const ENTITIES = `apiVersion: stepgate/v1
kind: Entities
name: fixture
subjects:
  - { type: user, id: alice }
  - { type: user, id: bob, properties: { role: admin } }
  - { type: service, id: ci }
resources:
  - { type: record, id: record-1, properties: { status: active } }
  - { type: record, id: record-2, properties: { status: archived } }
actions: [read, write, delete, approve]
`;

interface Fixture {
  point: SearchPoint;
  /** Every decision made, with its options. */
  decided: { request: DecisionRequest; evidence?: AuthEvidence; options?: DecidePointOptions }[];
  /** Swaps in the same policies under another revision. */
  setRevision(revision: number): void;
}

function fixture(entities = ENTITIES): Fixture {
  const compiled = compile([
    { path: 'stepgate.yaml', content: SETTINGS },
    { path: 'records.yaml', content: POLICY },
    { path: 'entities.yaml', content: entities },
  ]);
  if (!compiled.ok) throw new Error(compiled.errors.map((e) => e.message).join('\n'));
  const set = compiled.policySet;
  const loaded = (revision: number) => ({
    engine: new PolicyEngine(set, { revision }),
    levels: set.settings.levels,
    revision,
    mask: compileMask([]),
    entities: set.entities,
  });
  const store = { active: loaded(1), shadow: undefined, syncedAt: Date.now() };
  const real = new DecisionPoint({ store: store as unknown as BundleStore });
  const decided: Fixture['decided'] = [];
  return {
    point: {
      get entities() {
        return real.entities;
      },
      decide(request, evidence, options) {
        decided.push({ request, evidence, options });
        return real.decide(request, evidence, options);
      },
    },
    decided,
    setRevision: (revision) => {
      store.active = loaded(revision);
    },
  };
}

const ids = (response: SearchResponse) =>
  response.results.map((r) => ('name' in r ? r.name : `${r.type}:${r.id}`));

function refused(kind: SearchKind, body: unknown, point = fixture().point): string {
  try {
    search(kind, body, point);
  } catch (error) {
    if (error instanceof StepgateError && error.code === 'request/invalid') return error.message;
    throw error;
  }
  return 'accepted';
}

describe('AuthZEN subject search', () => {
  it('returns the declared subjects of the type that are allowed, decided with their declared properties', () => {
    const { point } = fixture();
    const read = { action: { name: 'read' }, resource: { type: 'record', id: 'record-1' } };
    expect(search('subject', { subject: { type: 'user' }, ...read }, point)).toEqual({
      page: { next_token: '', count: 2, total: 2 },
      results: [
        { type: 'user', id: 'alice' },
        { type: 'user', id: 'bob' },
      ],
    });
    // bob is an admin by his declaration; alice may not write an archived record.
    const archived = {
      subject: { type: 'user' },
      action: { name: 'write' },
      resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } },
    };
    expect(ids(search('subject', archived, point))).toEqual(['user:bob']);
  });

  it('ignores the subject id and properties sent, and unknown fields anywhere', () => {
    const { point, decided } = fixture();
    const body = {
      subject: { type: 'user', id: 'alice', properties: { role: 'admin' }, nickname: 'al' },
      action: { name: 'write', extra: 1 },
      resource: { type: 'record', id: 'record-1', properties: { status: 'active' } },
      future: { field: true },
    };
    // alice may write record-1; bob by his declared role; the sent role is no one's.
    expect(ids(search('subject', body, point))).toEqual(['user:alice', 'user:bob']);
    expect(decided.map((d) => d.request.principal)).toEqual([
      { id: 'alice' },
      { id: 'bob', attributes: { role: 'admin' } },
    ]);
  });

  it('is empty, not an error, for a type no entity has', () => {
    const body = {
      subject: { type: 'spaceship' },
      action: { name: 'read' },
      resource: { type: 'record', id: 'record-1' },
    };
    expect(search('subject', body, fixture().point)).toEqual({
      page: { next_token: '', count: 0, total: 0 },
      results: [],
    });
  });

  it("applies a bearer token's evidence to its own principal only", () => {
    const { point, decided } = fixture();
    const caller = {
      principal: { id: 'bob' },
      evidence: { acr: 'urn:mfa' },
    } as unknown as VerifiedToken;
    const body = {
      subject: { type: 'user', id: 'alice' },
      action: { name: 'approve' },
      resource: { type: 'record', id: 'record-1' },
    };
    // alice would need to step up: not a permit. bob's token meets the step-up for bob.
    expect(ids(search('subject', body, point))).toEqual([]);
    expect(ids(search('subject', body, point, caller))).toEqual(['user:bob']);
    expect(decided.slice(-2).map((d) => [d.request.principal.id, d.evidence])).toEqual([
      ['alice', undefined],
      ['bob', { acr: 'urn:mfa' }],
    ]);
  });

  it('leaves no decision-log record per candidate', () => {
    const { point, decided } = fixture();
    search(
      'subject',
      {
        subject: { type: 'user' },
        action: { name: 'read' },
        resource: { type: 'record', id: 'x' },
      },
      point,
    );
    expect(decided).toHaveLength(2);
    expect(decided.every((d) => d.options?.record === false)).toBe(true);
  });
});

describe('AuthZEN resource search', () => {
  it('decides each declared resource of the type with the subject as sent', () => {
    const { point } = fixture();
    const write = { action: { name: 'write' }, resource: { type: 'record', id: 'ignored' } };
    expect(
      ids(search('resource', { subject: { type: 'user', id: 'alice' }, ...write }, point)),
    ).toEqual(['record:record-1']);
    // The input subject's properties are the request's: bob without them is no admin.
    expect(
      ids(search('resource', { subject: { type: 'user', id: 'bob' }, ...write }, point)),
    ).toEqual([]);
    const admin = { type: 'user', id: 'bob', properties: { role: 'admin' } };
    expect(ids(search('resource', { subject: admin, ...write }, point))).toEqual([
      'record:record-1',
      'record:record-2',
    ]);
  });

  it('refuses a bearer token of another principal than the input subject', () => {
    const caller = { principal: { id: 'bob' }, evidence: {} } as unknown as VerifiedToken;
    const body = {
      subject: { type: 'user', id: 'alice' },
      action: { name: 'read' },
      resource: { type: 'record' },
    };
    expect(() => search('resource', body, fixture().point, caller)).toThrow(InvalidTokenError);
  });
});

describe('AuthZEN action search', () => {
  it('decides every declared action; a step-up is not a permit', () => {
    const { point } = fixture();
    const body = {
      subject: { type: 'user', id: 'alice' },
      resource: { type: 'record', id: 'record-1' },
    };
    expect(search('action', body, point)).toEqual({
      page: { next_token: '', count: 2, total: 2 },
      results: [{ name: 'read' }, { name: 'write' }],
    });
    const admin = {
      subject: { type: 'user', id: 'bob', properties: { role: 'admin' } },
      resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } },
      action: { name: 'ignored' },
    };
    expect(ids(search('action', admin, point))).toEqual(['read', 'write']);
  });

  it('is empty for an unknown subject id or when the bundle declares nothing', () => {
    const body = {
      subject: { type: 'user', id: 'nonexistent-user' },
      resource: { type: 'record', id: 'record-1' },
    };
    // The policy allows read to anyone; an unknown subject is still only what the rules say.
    expect(ids(search('action', body, fixture().point))).toEqual(['read']);
    const none = fixture('apiVersion: stepgate/v1\nkind: Entities\nname: none\n');
    expect(search('action', body, none.point).results).toEqual([]);
  });
});

describe('AuthZEN search requests', () => {
  it.each([
    [
      'subject',
      { subject: { type: 'user' }, resource: { type: 'record', id: 'r' } },
      /^action is required/,
    ],
    [
      'resource',
      { action: { name: 'read' }, resource: { type: 'record' } },
      /^subject is required/,
    ],
    ['action', { subject: { type: 'user', id: 'alice' } }, /^resource is required/],
    [
      'subject',
      { subject: { type: 'user' }, action: { name: 'read' }, resource: { type: 'record' } },
      /^resource\.id must be a non-empty string: an input of a subject search is fully identified/,
    ],
    [
      'resource',
      { subject: { type: 'user' }, action: { name: 'read' }, resource: { type: 'record' } },
      /^subject\.id must be a non-empty string/,
    ],
    [
      'action',
      { subject: { type: 'user' }, resource: { type: 'record', id: 'record-1' } },
      /^subject\.id must be a non-empty string/,
    ],
    [
      'subject',
      { subject: {}, action: { name: 'read' }, resource: { type: 'r', id: 'r' } },
      /^subject\.type/,
    ],
    [
      'resource',
      { subject: { type: 'u', id: 'a' }, action: {}, resource: { type: 'r' } },
      /^action\.name/,
    ],
    ['subject', [], /^the body must be a JSON object/],
    [
      'subject',
      {
        subject: { type: 'u' },
        action: { name: 'read' },
        resource: { type: 'r', id: 'r' },
        context: 3,
      },
      /^context must be an object/,
    ],
  ] as const)('%s search: %j is a 400', (kind, body, message) => {
    expect(refused(kind, body)).toMatch(message);
  });
});

describe('AuthZEN search pagination', () => {
  const many = (count: number) =>
    `apiVersion: stepgate/v1\nkind: Entities\nname: many\nsubjects:\n${Array.from(
      { length: count },
      (_, i) => `  - { type: user, id: u${String(i).padStart(4, '0')} }\n`,
    ).join('')}`;
  const body = (page?: Record<string, unknown>) => ({
    subject: { type: 'user' },
    action: { name: 'read' },
    resource: { type: 'record', id: 'record-1' },
    ...(page ? { page } : {}),
  });

  it('chains next_token to the end: every result once, in order, the last token empty', () => {
    const { point } = fixture(many(7));
    const seen: string[] = [];
    const pages: SearchResponse['page'][] = [];
    let token: string | undefined;
    do {
      const response = search('subject', body({ limit: 3, ...(token ? { token } : {}) }), point);
      seen.push(...ids(response));
      pages.push(response.page);
      token = response.page.next_token;
    } while (token !== '' && pages.length < 10);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `user:u000${i}`));
    expect(pages.map((p) => [p.count, p.next_token === '', p.total])).toEqual([
      [3, false, undefined],
      [3, false, undefined],
      [1, true, undefined],
    ]);
  });

  it('refuses a token of another query, of another revision, or not its own', () => {
    const { point, setRevision } = fixture(many(5));
    const token = search('subject', body({ limit: 2 }), point).page.next_token;
    expect(token).not.toBe('');
    // The limit may change (the certification scenario's follow-up sends the token alone).
    expect(ids(search('subject', body({ limit: 1, token }), point))).toEqual(['user:u0002']);
    expect(ids(search('subject', body({ token }), point))).toEqual([
      'user:u0002',
      'user:u0003',
      'user:u0004',
    ]);
    expect(
      refused('subject', { ...body({ limit: 2, token }), action: { name: 'write' } }, point),
    ).toMatch(/^page\.token belongs to another search/);
    expect(
      refused('subject', { ...body({ limit: 2, token }), context: { ip: '1.2.3.4' } }, point),
    ).toMatch(/^page\.token belongs to another search/);
    expect(
      refused(
        'resource',
        {
          ...body({ limit: 2, token }),
          resource: { type: 'user' },
          subject: { type: 'user', id: 'a' },
        },
        point,
      ),
    ).toMatch(/^page\.token belongs to another search/);
    expect(refused('subject', body({ limit: 2, token: 'bm90IG91cnM' }), point)).toMatch(
      /^page\.token is not a next_token this agent issued; send the request again without page\.token/,
    );
    // The subject id is ignored, so it does not make another query.
    expect(
      search('subject', { ...body({ limit: 2, token }), subject: { type: 'user', id: 'x' } }, point)
        .results,
    ).toHaveLength(2);
    setRevision(2);
    expect(refused('subject', body({ limit: 2, token }), point)).toMatch(
      /^page\.token was issued for policy revision 1 and the agent now enforces revision 2/,
    );
  });

  it('takes limit 0 as no results yet, an empty token as the first page, and caps the limit', () => {
    const { point } = fixture(many(3));
    const zero = search('subject', body({ limit: 0 }), point);
    expect(zero.results).toEqual([]);
    expect(zero.page.next_token).not.toBe('');
    expect(search('subject', body({ token: '' }), point).page).toEqual({
      next_token: '',
      count: 3,
      total: 3,
    });
    expect(refused('subject', body({ limit: -1 }), point)).toMatch(
      /^page\.limit must be a non-negative integer/,
    );
    expect(refused('subject', body({ limit: 1.5 }), point)).toMatch(/^page\.limit/);
    expect(refused('subject', body({ token: 7 }), point)).toMatch(/^page\.token must be a string/);
    expect(refused('subject', { ...body(), page: [] }, point)).toMatch(/^page must be an object/);
    const big = fixture(many(MAX_PAGE_LIMIT + 5));
    const capped = search('subject', body({ limit: MAX_PAGE_LIMIT * 10 }), big.point);
    expect(capped.results).toHaveLength(MAX_PAGE_LIMIT);
    expect(capped.page.next_token).not.toBe('');
  });

  it(`decides at most ${MAX_DECISIONS_PER_SEARCH} candidates per request, however few are permitted`, () => {
    const { point, decided } = fixture(many(MAX_DECISIONS_PER_SEARCH + 200));
    const denied = { ...body({ limit: 10 }), action: { name: 'delete' } };
    const first = search('subject', denied, point);
    expect(first.results).toEqual([]);
    expect(decided).toHaveLength(MAX_DECISIONS_PER_SEARCH);
    expect(first.page.next_token).not.toBe('');
    const second = search(
      'subject',
      { ...denied, page: { limit: 10, token: first.page.next_token } },
      point,
    );
    expect(decided).toHaveLength(MAX_DECISIONS_PER_SEARCH + 200);
    expect(second.page).toEqual({ next_token: '', count: 0 });
  });
});
