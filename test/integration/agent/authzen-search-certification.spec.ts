/**
 * The Search level (Search Core and Search Properties) of the OpenID AuthZEN Authorization API
 * 1.0 certification scenario (the Markdown file certification/authorization-api-1_0-scenario in
 * the openid/authzen repository, commit e287920, not vendored: the tests encode it;
 * sections c-1-5, c-4 and c-5), one test per scenario test id, with
 * the scenario's request bodies, against a real agent process loaded with the scenario's fixture
 * (test/support/fixtures/authzen-certification/, its entities in entities.yaml). Each test
 * checks what the scenario says the harness validates. Then a search whose result set spans
 * many pages, chained to the end.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompiledPolicySet } from '@stepgate/policy';
import {
  agentServing,
  call,
  compilePolicyDir,
  REPO_ROOT,
  waitFor,
  type AgentProcess,
  type AgentServing,
} from './support.js';

const FIXTURE = resolve(REPO_ROOT, 'test/support/fixtures/authzen-certification');

/** More subjects than a page holds: every third one an admin (who may write any record). */
const MEMBERS = 25;
const memberId = (i: number) => `member-${String(i).padStart(2, '0')}`;
const isAdmin = (i: number) => i % 3 === 0;
const MEMBERS_FILE = `apiVersion: stepgate/v1
kind: Entities
name: members
subjects:
${Array.from(
  { length: MEMBERS },
  (_, i) =>
    `  - { type: member, id: ${memberId(i)}${isAdmin(i) ? ', properties: { role: admin }' : ''} }\n`,
).join('')}`;

let serving: AgentServing;
let agent: AgentProcess;
let set: CompiledPolicySet;

beforeAll(async () => {
  set = compilePolicyDir(FIXTURE, [{ path: 'members/entities.yaml', content: MEMBERS_FILE }]);
  serving = await agentServing(set);
  agent = serving.agent;
}, 300_000);

afterAll(async () => {
  await serving?.stop();
});

type Kind = 'subject' | 'resource' | 'action';
interface Found {
  status: number;
  headers: Headers;
  body: any;
}

const searchFor = (kind: Kind, body: unknown, headers: Record<string, string> = {}) =>
  call(agent.url, 'POST', `/access/v1/search/${kind}`, body, headers) as Promise<Found>;

const CONTEXT = { time: '2025-06-27T18:03-07:00', ip: '192.168.1.1' };

/** What the harness validates of any successful search answer (c-4-2-1, c-4-5, c-5). */
function expectSearchAnswer(found: Found): void {
  expect(found.status, JSON.stringify(found.body)).toBe(200);
  expect(found.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Array.isArray(found.body.results)).toBe(true);
  if (found.body.page !== undefined) {
    expect(typeof found.body.page).toBe('object');
    if (found.body.page.next_token !== undefined)
      expect(typeof found.body.page.next_token).toBe('string');
  }
}

/** Subject or resource results: each has type and id, and the type searched for; their ids. */
function entityIds(found: Found, type: string): string[] {
  expectSearchAnswer(found);
  for (const result of found.body.results) {
    expect(typeof result.id).toBe('string');
    expect(result.type).toBe(type);
  }
  return (found.body.results as { id: string }[]).map((result) => result.id);
}

/** Action results: each has a name; the names. */
function actionNames(found: Found): string[] {
  expectSearchAnswer(found);
  for (const result of found.body.results) expect(typeof result.name).toBe('string');
  return (found.body.results as { name: string }[]).map((result) => result.name);
}

const SUBJECT_SEARCH = {
  subject: { type: 'user' },
  action: { name: 'read' },
  resource: { type: 'record', id: 'record-1' },
};
const RESOURCE_SEARCH = {
  subject: { type: 'user', id: 'alice' },
  action: { name: 'read' },
  resource: { type: 'record' },
};
const ACTION_SEARCH = {
  subject: { type: 'user', id: 'alice' },
  resource: { type: 'record', id: 'record-1' },
};

describe('Search Core: subject search', () => {
  it('c-4-2-1 valid subject search request with non-empty results (S1)', async () => {
    const ids = entityIds(await searchFor('subject', SUBJECT_SEARCH), 'user');
    expect(ids).toEqual(expect.arrayContaining(['alice', 'bob']));
  });

  it('c-4-2-2 subject search with context: the same results as c-4-2-1', async () => {
    const without = entityIds(await searchFor('subject', SUBJECT_SEARCH), 'user');
    const withContext = await searchFor('subject', { ...SUBJECT_SEARCH, context: CONTEXT });
    expect(entityIds(withContext, 'user')).toEqual(without);
    expect(without).toEqual(expect.arrayContaining(['alice', 'bob']));
  });

  it('c-4-2-3 subject search with subject id present: the id is ignored', async () => {
    const without = entityIds(await searchFor('subject', SUBJECT_SEARCH), 'user');
    const withId = await searchFor('subject', {
      subject: { type: 'user', id: 'alice' },
      action: { name: 'read' },
      resource: { type: 'record', id: 'record-1' },
    });
    expect(entityIds(withId, 'user')).toEqual(without);
    expect(without).toContain('bob');
  });
});

describe('Search Properties: subject search', () => {
  it('c-4-2-4 subject search with resource properties (S4, decision rule 6)', async () => {
    const found = await searchFor('subject', {
      subject: { type: 'user' },
      action: { name: 'write' },
      resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } },
    });
    // bob by his declared role; alice may not write an archived record (rule 5).
    expect(entityIds(found, 'user')).toEqual(['bob']);
  });
});

describe('Search Core: resource search', () => {
  it('c-4-3-1 valid resource search request with non-empty results (S2)', async () => {
    const ids = entityIds(await searchFor('resource', RESOURCE_SEARCH), 'record');
    expect(ids).toContain('record-1');
  });

  it('c-4-3-2 resource search with context: the same results as c-4-3-1', async () => {
    const without = entityIds(await searchFor('resource', RESOURCE_SEARCH), 'record');
    const withContext = await searchFor('resource', { ...RESOURCE_SEARCH, context: CONTEXT });
    expect(entityIds(withContext, 'record')).toEqual(without);
    expect(without).toContain('record-1');
  });

  it('c-4-3-3 resource search with resource id present: the id is ignored', async () => {
    const without = entityIds(await searchFor('resource', RESOURCE_SEARCH), 'record');
    const withId = await searchFor('resource', {
      subject: { type: 'user', id: 'alice' },
      action: { name: 'read' },
      resource: { type: 'record', id: 'record-1' },
    });
    expect(entityIds(withId, 'record')).toEqual(without);
    expect(without).toEqual(['record-1', 'record-2']);
  });
});

describe('Search Properties: resource search', () => {
  it('c-4-3-4 resource search with subject properties (S5, decision rule 6)', async () => {
    const found = await searchFor('resource', {
      subject: { type: 'user', id: 'bob', properties: { role: 'admin' } },
      action: { name: 'write' },
      resource: { type: 'record' },
    });
    expect(entityIds(found, 'record')).toContain('record-2');
    // Without the property bob writes nothing (rule 4): the sent properties are what count.
    const plain = await searchFor('resource', {
      subject: { type: 'user', id: 'bob' },
      action: { name: 'write' },
      resource: { type: 'record' },
    });
    expect(entityIds(plain, 'record')).toEqual([]);
  });
});

describe('Search Core: action search', () => {
  it('c-4-4-1 valid action search request with non-empty results (S3)', async () => {
    const names = actionNames(await searchFor('action', ACTION_SEARCH));
    expect(names).toEqual(expect.arrayContaining(['read', 'write']));
    // A hard delete is a step-up for alice (MFA): not a permit, so not a result.
    expect(names).not.toContain('delete');
  });

  it('c-4-4-2 action search with context: the same results as c-4-4-1', async () => {
    const without = actionNames(await searchFor('action', ACTION_SEARCH));
    const withContext = actionNames(
      await searchFor('action', { ...ACTION_SEARCH, context: CONTEXT }),
    );
    expect(withContext).toEqual(without);
    expect(without).toEqual(expect.arrayContaining(['read', 'write']));
  });
});

describe('Search Properties: action search', () => {
  it('c-4-4-3 action search with properties (S6, decision rule 6)', async () => {
    const found = await searchFor('action', {
      subject: { type: 'user', id: 'bob', properties: { role: 'admin' } },
      resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } },
    });
    expect(actionNames(found)).toContain('write');
  });
});

describe('Search Core: pagination', () => {
  const PAGED = {
    subject: { type: 'user' },
    action: { name: 'read' },
    resource: { type: 'record', id: 'record-1' },
  };

  it('c-4-5-1 request with page limit', async () => {
    const found = await searchFor('subject', { ...PAGED, page: { limit: 1 } });
    expect(entityIds(found, 'user')).toHaveLength(1);
    expect(found.body.page.count).toBe(1);
    expect(found.body.page.next_token).not.toBe('');
  });

  it('c-4-5-2 request with page token (and c-4-5-3 the page format)', async () => {
    const first = await searchFor('subject', { ...PAGED, page: { limit: 1 } });
    const token = first.body.page.next_token as string;
    expect(token).not.toBe('');
    // The scenario's follow-up: the token alone (the limit may change between pages).
    const second = await searchFor('subject', { ...PAGED, page: { token } });
    expectSearchAnswer(second);
    expect(second.body.page).toEqual({ next_token: '', count: 1 });
    expect([...entityIds(first, 'user'), ...entityIds(second, 'user')]).toEqual(['alice', 'bob']);
    // Another query with this token is refused (the specification's SHOULD).
    const changed = await searchFor('subject', {
      ...PAGED,
      action: { name: 'write' },
      page: { token },
    });
    expect([changed.status, changed.body.message]).toEqual([
      400,
      expect.stringMatching(/^page\.token belongs to another search/),
    ]);
  });
});

describe('Search Core: empty results', () => {
  it('c-4-6-1 unknown entity identifier: an empty result, on every endpoint', async () => {
    const action = await searchFor('action', {
      subject: { type: 'user', id: 'nonexistent-user' },
      resource: { type: 'record', id: 'record-1' },
    });
    // The fixture lets anyone read: an unknown subject gets what the rules give anyone.
    expect(actionNames(action)).toEqual(['read']);
    const unknownResource = await searchFor('action', {
      subject: { type: 'user', id: 'bob' },
      resource: { type: 'ledger', id: 'nonexistent-record' },
    });
    expect(unknownResource.status).toBe(200);
    expect(unknownResource.body.results).toEqual([]);
    const resource = await searchFor('resource', {
      subject: { type: 'user', id: 'nonexistent-user' },
      action: { name: 'write' },
      resource: { type: 'record' },
    });
    expect(resource.status).toBe(200);
    expect(resource.body.results).toEqual([]);
    const subject = await searchFor('subject', {
      subject: { type: 'user' },
      action: { name: 'write' },
      resource: { type: 'record', id: 'nonexistent-record', properties: { status: 'archived' } },
    });
    expect(entityIds(subject, 'user')).toEqual(['bob']);
    const nothing = await searchFor('subject', {
      subject: { type: 'user' },
      action: { name: 'nonexistent-action' },
      resource: { type: 'record', id: 'nonexistent-record' },
    });
    expect(nothing.status).toBe(200);
    expect(nothing.body.results).toEqual([]);
  });

  it('c-4-6-2 unknown entity type: an empty result, not a 400, on every endpoint', async () => {
    const subject = await searchFor('subject', {
      subject: { type: 'spaceship' },
      action: { name: 'read' },
      resource: { type: 'record', id: 'record-1' },
    });
    expect(subject.status).toBe(200);
    expect(subject.body.results).toEqual([]);
    const resource = await searchFor('resource', {
      subject: { type: 'user', id: 'alice' },
      action: { name: 'read' },
      resource: { type: 'spaceship' },
    });
    expect(resource.status).toBe(200);
    expect(resource.body.results).toEqual([]);
    const action = await searchFor('action', {
      subject: { type: 'spaceship', id: 'enterprise' },
      resource: { type: 'spaceship', id: 'ncc-1701' },
    });
    expect(action.status).toBe(200);
    expect(action.body.results).toEqual([]);
  });
});

describe('Search Core: error handling', () => {
  it('c-4-7-1 missing required fields: 400', async () => {
    const missingAction = await searchFor('subject', {
      subject: { type: 'user' },
      resource: { type: 'record', id: 'record-1' },
    });
    expect([missingAction.status, missingAction.body.message]).toEqual([
      400,
      expect.stringMatching(/^action is required/),
    ]);
    const missingSubject = await searchFor('resource', {
      action: { name: 'read' },
      resource: { type: 'record' },
    });
    expect([missingSubject.status, missingSubject.body.message]).toEqual([
      400,
      expect.stringMatching(/^subject is required/),
    ]);
    const missingResource = await searchFor('action', { subject: { type: 'user', id: 'alice' } });
    expect([missingResource.status, missingResource.body.message]).toEqual([
      400,
      expect.stringMatching(/^resource is required/),
    ]);
  });

  it('c-4-7-2 missing required sub-fields: every input entity is fully identified', async () => {
    const both = {
      subject: { type: 'user' },
      action: { name: 'read' },
      resource: { type: 'record' },
    };
    const subject = await searchFor('subject', both);
    expect([subject.status, subject.body.message]).toEqual([
      400,
      expect.stringMatching(/^resource\.id must be a non-empty string/),
    ]);
    const resource = await searchFor('resource', both);
    expect([resource.status, resource.body.message]).toEqual([
      400,
      expect.stringMatching(/^subject\.id must be a non-empty string/),
    ]);
    const action = await searchFor('action', {
      subject: { type: 'user' },
      resource: { type: 'record', id: 'record-1' },
    });
    expect([action.status, action.body.message]).toEqual([
      400,
      expect.stringMatching(/^subject\.id must be a non-empty string/),
    ]);
  });
});

describe('Transport requirements on the search endpoints', () => {
  it('c-5 JSON in and out, 400 for another content type, X-Request-ID echoed, unknown fields ignored', async () => {
    const found = await searchFor(
      'subject',
      { ...SUBJECT_SEARCH, subject: { type: 'user', nickname: 'x' }, future: { field: 1 } },
      { 'x-request-id': 'search-42' },
    );
    expect(entityIds(found, 'user')).toEqual(['alice', 'bob']);
    expect(found.headers.get('x-request-id')).toBe('search-42');
    const refused = await searchFor('action', {}, { 'x-request-id': 'search-43' });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('x-request-id')).toBe('search-43');
    const text = await fetch(`${agent.url}/access/v1/search/subject`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(SUBJECT_SEARCH),
    });
    expect(text.status).toBe(400);
  });
});

describe('pagination over more entities than a page', () => {
  /** Follows next_token from the first page to the empty one; every page's results. */
  async function allPages(body: Record<string, unknown>, limit: number) {
    const pages: { ids: string[]; page: Record<string, unknown> }[] = [];
    let token = '';
    do {
      const page = { limit, ...(token === '' ? {} : { token }) };
      const found = await searchFor('subject', { ...body, page });
      pages.push({ ids: entityIds(found, 'member'), page: found.body.page });
      token = found.body.page.next_token as string;
    } while (token !== '' && pages.length <= MEMBERS);
    return pages;
  }

  it('chains the tokens to the end: every permitted entity once, in declaration order', async () => {
    const read = {
      subject: { type: 'member' },
      action: { name: 'read' },
      resource: { type: 'record', id: 'record-1' },
    };
    const pages = await allPages(read, 4);
    expect(pages).toHaveLength(Math.ceil(MEMBERS / 4));
    expect(pages.flatMap((p) => p.ids)).toEqual(
      Array.from({ length: MEMBERS }, (_, i) => memberId(i)),
    );
    expect(pages.map((p) => p.page.count)).toEqual([4, 4, 4, 4, 4, 4, 1]);
    expect(pages.slice(0, -1).every((p) => p.page.next_token !== '')).toBe(true);

    // Only the admins may write an archived record: the pages hold them all, and only them.
    const write = {
      subject: { type: 'member' },
      action: { name: 'write' },
      resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } },
    };
    const admins = Array.from({ length: MEMBERS }, (_, i) => i)
      .filter(isAdmin)
      .map(memberId);
    const writers = await allPages(write, 2);
    expect(writers.flatMap((p) => p.ids)).toEqual(admins);
    expect(writers.length).toBeGreaterThan(admins.length / 2);
  });

  it('refuses a token once the agent enforces another revision', async () => {
    const read = {
      subject: { type: 'member' },
      action: { name: 'read' },
      resource: { type: 'record', id: 'record-1' },
      page: { limit: 5 },
    };
    const first = await searchFor('subject', read);
    const token = first.body.page.next_token as string;
    expect(token).not.toBe('');
    serving.plane.publish('active', 2, await serving.signer.sign(set, 2));
    await waitFor(
      'revision 2',
      async () => (await call(agent.url, 'GET', '/readyz')).body?.revision === 2,
    );
    const stale = await searchFor('subject', { ...read, page: { limit: 5, token } });
    expect([stale.status, stale.body.message]).toEqual([
      400,
      expect.stringMatching(
        /was issued for policy revision 1 and the agent now enforces revision 2/,
      ),
    ]);
    const again = await searchFor('subject', read);
    expect(entityIds(again, 'member')).toHaveLength(5);
  });
});
