/**
 * Who may call what on the real control plane: every admin route without a token, with a
 * garbage token, with a revoked token, with each scope; bad request shapes; public endpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { api, createToken, ensureControlPlaneBuilt, listVersions, waitFor } from './support.js';

type Scope = 'admin' | 'operator' | 'viewer' | 'agent' | 'approver' | 'data' | 'events';
const SCOPES: Scope[] = ['admin', 'operator', 'viewer', 'agent', 'approver', 'data', 'events'];

interface Route {
  name: string;
  method: string;
  /** A path, or a function making one (for routes that consume something, like revoke). */
  path: string | (() => Promise<string>);
  body?: () => unknown;
  /** Scopes allowed besides admin. */
  scopes: Scope[];
}

let cp: ControlPlaneProcess;
const tokens = {} as Record<Scope, string>;
let revoked: string;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

const ROUTES: Route[] = [
  { name: 'versions list', method: 'GET', path: '/v1/versions', scopes: ['viewer', 'operator'] },
  { name: 'version detail', method: 'GET', path: '/v1/versions/1', scopes: ['viewer', 'operator'] },
  {
    name: 'activate',
    method: 'POST',
    path: '/v1/versions/1/activate',
    body: () => ({}),
    scopes: ['operator'],
  },
  {
    name: 'rollback',
    method: 'POST',
    path: '/v1/rollback',
    body: () => ({ reason: 'matrix' }),
    scopes: ['operator'],
  },
  {
    name: 'shadow set',
    method: 'POST',
    path: '/v1/versions/1/shadow',
    body: () => ({}),
    scopes: ['operator'],
  },
  { name: 'shadow clear', method: 'DELETE', path: '/v1/shadow', scopes: ['operator'] },
  { name: 'audit', method: 'GET', path: '/v1/audit', scopes: ['viewer', 'operator'] },
  {
    name: 'tokens create',
    method: 'POST',
    path: '/v1/tokens',
    body: () => ({ name: unique('matrix'), scopes: ['viewer'] }),
    scopes: [],
  },
  { name: 'tokens list', method: 'GET', path: '/v1/tokens', scopes: [] },
  {
    name: 'tokens revoke',
    method: 'DELETE',
    path: async () => `/v1/tokens/${(await createToken(cp, unique('victim'), ['viewer'])).id}`,
    scopes: [],
  },
  { name: 'sources list', method: 'GET', path: '/v1/sources', scopes: ['viewer', 'operator'] },
  {
    name: 'source get',
    method: 'GET',
    path: '/v1/sources/default',
    scopes: ['viewer', 'operator'],
  },
  {
    name: 'sources create',
    method: 'POST',
    path: '/v1/sources',
    body: () => ({ name: unique('src'), url: 'https://git.example.invalid/acme/policies.git' }),
    scopes: [],
  },
  { name: 'source sync', method: 'POST', path: '/v1/sources/default/sync', scopes: ['operator'] },
  {
    name: 'bundle active',
    method: 'GET',
    path: '/v1/bundles/active',
    scopes: ['agent', 'viewer', 'operator'],
  },
  {
    name: 'bundle shadow',
    method: 'GET',
    path: '/v1/bundles/shadow',
    scopes: ['agent', 'viewer', 'operator'],
  },
  // Live data: reads for viewer, operator and data; writes for data and operator (sent without
  // the reason header, so an allowed call is a 400 or 404 and changes nothing).
  { name: 'data list', method: 'GET', path: '/v1/data', scopes: ['viewer', 'operator', 'data'] },
  {
    name: 'data get',
    method: 'GET',
    path: '/v1/data/matrix',
    scopes: ['viewer', 'operator', 'data'],
  },
  {
    name: 'data history',
    method: 'GET',
    path: '/v1/data/matrix/history',
    scopes: ['viewer', 'operator', 'data'],
  },
  {
    name: 'data put',
    method: 'PUT',
    path: '/v1/data/matrix',
    body: () => [],
    scopes: ['data', 'operator'],
  },
  {
    name: 'data patch',
    method: 'PATCH',
    path: '/v1/data/matrix',
    body: () => ({}),
    scopes: ['data', 'operator'],
  },
  { name: 'data reset', method: 'DELETE', path: '/v1/data/matrix', scopes: ['data', 'operator'] },
  {
    name: 'data key put',
    method: 'PUT',
    path: '/v1/data/matrix/k',
    body: () => 1,
    scopes: ['data', 'operator'],
  },
  {
    name: 'data key delete',
    method: 'DELETE',
    path: '/v1/data/matrix/k',
    scopes: ['data', 'operator'],
  },
  // Risk signals: events are posted with the events scope only; a subject's values are read by
  // viewer and operator.
  {
    name: 'events post',
    method: 'POST',
    path: '/v1/events',
    body: () => ({ type: 'matrix_event', subject: 'matrix-subject' }),
    scopes: ['events'],
  },
  {
    name: 'signals get',
    method: 'GET',
    path: '/v1/signals/matrix-subject',
    scopes: ['viewer', 'operator'],
  },
  // Replay: started and cancelled by operators, read by viewers too.
  {
    name: 'replay start',
    method: 'POST',
    path: '/v1/versions/1/replay',
    body: () => ({ since: new Date(Date.now() - 3600_000).toISOString() }),
    scopes: ['operator'],
  },
  {
    name: 'replay local policy set',
    method: 'POST',
    path: '/v1/replays',
    body: () => ({ since: new Date(Date.now() - 3600_000).toISOString(), policySet: {} }),
    scopes: ['operator'],
  },
  {
    name: 'replay get',
    method: 'GET',
    path: '/v1/replays/00000000-0000-4000-8000-000000000000',
    scopes: ['viewer', 'operator'],
  },
  {
    name: 'replay cancel',
    method: 'DELETE',
    path: '/v1/replays/00000000-0000-4000-8000-000000000000',
    scopes: ['operator'],
  },
];

async function call(route: Route, token: string | undefined) {
  const path = typeof route.path === 'string' ? route.path : await route.path();
  return api(cp.url, token, route.method, path, route.body?.());
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  tokens.admin = cp.adminToken;
  for (const scope of SCOPES.filter((s) => s !== 'admin'))
    tokens[scope] = (await createToken(cp, `matrix-${scope}`, [scope])).token;
  const victim = await createToken(cp, 'revoked-operator', ['operator', 'admin']);
  expect((await api(cp.url, victim.token, 'GET', '/v1/versions')).status).toBe(200);
  const revoke = await api(cp.url, cp.adminToken, 'DELETE', `/v1/tokens/${victim.id}`);
  expect(revoke.status).toBe(204);
  revoked = victim.token;
  // Version 1 (the seed) exists before the matrix runs: positive controls then hit real data.
  await waitFor('version 1', async () =>
    (await listVersions(cp)).some((v) => v.number === 1 && v.active),
  );
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
});

describe('authentication: 401 on every admin route', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))('%s', async (_, route) => {
    const none = await call(route, undefined);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: 'auth/unauthenticated', message: expect.any(String) });

    for (const garbage of ['garbage', 'sg_' + 'A'.repeat(43), 'x'.repeat(600)]) {
      const response = await call(route, garbage);
      expect(response.status, garbage.slice(0, 10)).toBe(401);
      expect(response.body.error).toBe('auth/unauthenticated');
    }
    // Not a bearer token at all (Basic, or an empty Bearer).
    const path = typeof route.path === 'string' ? route.path : await route.path();
    for (const authorization of [
      `Basic ${Buffer.from(`x:${cp.adminToken}`).toString('base64')}`,
      'Bearer ',
      cp.adminToken,
    ]) {
      const response = await fetch(`${cp.url}${path}`, {
        method: route.method,
        headers: { authorization },
      });
      expect(response.status, authorization.slice(0, 8)).toBe(401);
    }
    const revokedAnswer = await call(route, revoked);
    expect(revokedAnswer.status).toBe(401);
    expect(revokedAnswer.body.error).toBe('auth/unauthenticated');
  });
});

describe('authorization: 403 without the scope, through with it', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))('%s', async (_, route) => {
    for (const scope of SCOPES) {
      const allowed = scope === 'admin' || route.scopes.includes(scope);
      const response = await call(route, tokens[scope]);
      if (allowed) {
        // Positive control: the guard let it through (the handler may still say 404/409).
        expect(
          [401, 403],
          `${scope} on ${route.name}: ${JSON.stringify(response.body)}`,
        ).not.toContain(response.status);
        expect(response.status, `${scope} on ${route.name}`).toBeLessThan(500);
      } else {
        expect(response.status, `${scope} on ${route.name}`).toBe(403);
        expect(response.body).toMatchObject({ error: 'auth/forbidden' });
      }
    }
  });

  it('the matrix matches the brief: viewer is refused changes, agent is refused reads of versions', async () => {
    const forbidden = async (token: string, method: string, path: string, body?: unknown) =>
      (await api(cp.url, token, method, path, body)).status;
    expect(await forbidden(tokens.viewer, 'POST', '/v1/versions/1/activate', {})).toBe(403);
    expect(await forbidden(tokens.viewer, 'POST', '/v1/rollback', { reason: 'x' })).toBe(403);
    expect(await forbidden(tokens.viewer, 'POST', '/v1/versions/1/shadow', {})).toBe(403);
    expect(
      await forbidden(tokens.viewer, 'POST', '/v1/tokens', { name: 'x', scopes: ['admin'] }),
    ).toBe(403);
    expect(
      await forbidden(tokens.viewer, 'POST', '/v1/sources', {
        name: 'x',
        url: 'https://example.com/x.git',
      }),
    ).toBe(403);
    expect(await forbidden(tokens.agent, 'GET', '/v1/versions')).toBe(403);
    expect(await forbidden(tokens.approver, 'GET', '/v1/audit')).toBe(403);
    expect(
      await forbidden(tokens.operator, 'POST', '/v1/tokens', { name: 'x', scopes: ['admin'] }),
    ).toBe(403);
    // A viewer cannot mint itself an admin token: nothing was created.
    const list = await api(cp.url, cp.adminToken, 'GET', '/v1/tokens');
    expect(list.body.tokens.some((t: { name: string }) => t.name === 'x')).toBe(false);
  });

  it('tokens are listed without secrets, and revoking is audited', async () => {
    const list = await api(cp.url, cp.adminToken, 'GET', '/v1/tokens');
    expect(list.status).toBe(200);
    const text = JSON.stringify(list.body);
    for (const token of Object.values(tokens)) expect(text).not.toContain(token);
    expect(
      list.body.tokens.find((t: { name: string }) => t.name === 'revoked-operator'),
    ).toMatchObject({
      revokedAt: expect.any(String),
    });
    const audit = await api(cp.url, cp.adminToken, 'GET', '/v1/audit?action=token.revoke');
    expect(audit.body.events.length).toBeGreaterThan(0);
    expect(audit.body.events[0]).toMatchObject({
      actor: 'token:bootstrap-admin',
      action: 'token.revoke',
    });
    const unknown = await api(
      cp.url,
      cp.adminToken,
      'DELETE',
      '/v1/tokens/00000000-0000-4000-8000-000000000000',
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('token/not_found');
  });
});

describe('bad shapes and unknown fields are 400 request/invalid, never 500', () => {
  const cases: Array<[string, string, string, unknown]> = [
    ['token: unknown scope', 'POST', '/v1/tokens', { name: 'x', scopes: ['root'] }],
    ['token: unknown field', 'POST', '/v1/tokens', { name: 'x', scopes: ['viewer'], admin: true }],
    ['token: no scopes', 'POST', '/v1/tokens', { name: 'x', scopes: [] }],
    ['token: name not a string', 'POST', '/v1/tokens', { name: 42, scopes: ['viewer'] }],
    ['token: empty body', 'POST', '/v1/tokens', undefined],
    ['token: array body', 'POST', '/v1/tokens', [{ name: 'x', scopes: ['viewer'] }]],
    ['token: JSON null', 'POST', '/v1/tokens', 'null'],
    ['token: JSON string', 'POST', '/v1/tokens', '"name"'],
    ['token: broken JSON', 'POST', '/v1/tokens', '{"name": "x", '],
    [
      'token: __proto__',
      'POST',
      '/v1/tokens',
      '{"name":"x","scopes":["viewer"],"__proto__":{"admin":true}}',
    ],
    ['rollback: no reason', 'POST', '/v1/rollback', {}],
    ['rollback: reason not a string', 'POST', '/v1/rollback', { reason: 5 }],
    ['rollback: blank reason', 'POST', '/v1/rollback', { reason: '   ' }],
    ['rollback: unknown field', 'POST', '/v1/rollback', { reason: 'x', force: true }],
    ['rollback: to not a string', 'POST', '/v1/rollback', { reason: 'x', to: { number: 1 } }],
    ['rollback: to not a reference', 'POST', '/v1/rollback', { reason: 'x', to: 'latest!' }],
    ['activate: unknown field', 'POST', '/v1/versions/1/activate', { reason: 'x', now: true }],
    ['activate: reason too long', 'POST', '/v1/versions/1/activate', { reason: 'x'.repeat(1001) }],
    ['activate: not a reference', 'POST', '/v1/versions/not-a-version/activate', {}],
    ['shadow: unknown field', 'POST', '/v1/versions/1/shadow', { mode: 'dry' }],
    ['shadow clear: unknown field', 'DELETE', '/v1/shadow', { all: true }],
    ['versions: limit not a number', 'GET', '/v1/versions?limit=abc', undefined],
    ['versions: limit 0', 'GET', '/v1/versions?limit=0', undefined],
    ['versions: limit too big', 'GET', '/v1/versions?limit=100000', undefined],
    ['versions: bad status', 'GET', '/v1/versions?status=pending', undefined],
    ['versions: unknown query', 'GET', '/v1/versions?sort=asc', undefined],
    ['versions: repeated query', 'GET', '/v1/versions?limit=1&limit=2', undefined],
    ['version: not a reference', 'GET', '/v1/versions/..%2f..%2fetc', undefined],
    ['audit: unknown query', 'GET', '/v1/audit?who=me', undefined],
    ['token revoke: not a uuid', 'DELETE', '/v1/tokens/not-a-uuid', undefined],
    [
      'source: bad name',
      'POST',
      '/v1/sources',
      { name: 'Bad Name', url: 'https://example.com/x.git' },
    ],
    ['source: non-http url', 'POST', '/v1/sources', { name: 'ok', url: 'file:///etc/passwd' }],
    [
      'source: unknown field',
      'POST',
      '/v1/sources',
      { name: 'ok', url: 'https://example.com/x.git', token: 'x' },
    ],
    [
      'source: short secret',
      'POST',
      '/v1/sources',
      { name: 'ok', url: 'https://example.com/x.git', webhookSecret: 'short' },
    ],
    [
      'source: poll interval type',
      'POST',
      '/v1/sources',
      { name: 'ok', url: 'https://example.com/x.git', pollIntervalSeconds: '60' },
    ],
  ];

  it.each(cases)('%s', async (_, method, path, body) => {
    const response = await api(cp.url, cp.adminToken, method, path, body);
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body).toMatchObject({ error: 'request/invalid', message: expect.any(String) });
  });

  it('an oversized body is refused with a 4xx JSON error, not a 500', async () => {
    const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: 'x',
      scopes: ['viewer'],
      pad: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(response.status).toBe(413);
    expect(response.body.error).toBe('request/invalid');
  });

  it('validation details list the offending fields', async () => {
    const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: '',
      scopes: ['root'],
      extra: 1,
    });
    expect(response.status).toBe(400);
    const paths = (response.body.details as Array<{ path: string }>).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'scopes.0']));
    expect(JSON.stringify(response.body.details)).toContain('extra');
  });

  it('no token was created by any of the bad requests', async () => {
    const list = await api(cp.url, cp.adminToken, 'GET', '/v1/tokens');
    expect(list.body.tokens.filter((t: { name: string }) => t.name === 'x')).toEqual([]);
  });

  it('an unknown route is a JSON 404', async () => {
    const response = await api(cp.url, cp.adminToken, 'GET', '/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error: 'route/not_found' });
  });
});

describe('public endpoints need no token', () => {
  it('/healthz and /readyz', async () => {
    const health = await api(cp.url, undefined, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    await waitFor(
      'readyz',
      async () => (await api(cp.url, undefined, 'GET', '/readyz')).status === 200,
    );
    const ready = await api(cp.url, undefined, 'GET', '/readyz');
    expect(ready.body).toEqual({
      status: 'ready',
      checks: { database: { ok: true }, redis: { ok: true }, git: { ok: true } },
    });
  });

  it('/metrics is Prometheus text with the sync and revision series', async () => {
    const response = await fetch(`${cp.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^# TYPE stepgate_syncs_total counter$/m);
    expect(text).toMatch(/^stepgate_syncs_total\{result="ok"\} [1-9]\d*$/m);
    expect(text).toMatch(/^stepgate_active_revision [1-9]\d*$/m);
    expect(text).toMatch(/^stepgate_policy_versions\{status="ready"\} [1-9]\d*$/m);
    expect(text).toContain('stepgate_sync_duration_seconds_bucket');
  });

  it('/docs is an OpenAPI 3.1 document with the /v1 paths', async () => {
    const response = await api(cp.url, undefined, 'GET', '/docs');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toMatch(/^3\.1\./);
    const paths = Object.keys(response.body.paths);
    for (const path of [
      '/v1/versions',
      '/v1/rollback',
      '/v1/shadow',
      '/v1/audit',
      '/v1/tokens',
      '/v1/sources',
      '/v1/bundles/active',
      '/v1/keys',
    ])
      expect(paths, path).toContain(path);
    expect(paths.some((p) => /^\/v1\/versions\/\{[^}]+\}\/activate$/.test(p))).toBe(true);
    expect(paths.some((p) => /^\/v1\/webhooks\/\{[^}]+\}$/.test(p))).toBe(true);
    // Bearer auth is declared.
    expect(JSON.stringify(response.body.components?.securitySchemes ?? {})).toMatch(/bearer/i);
  });

  it('/v1/keys is a JWKS of Ed25519 public keys', async () => {
    const response = await api(cp.url, undefined, 'GET', '/v1/keys');
    expect(response.status).toBe(200);
    expect(response.body.keys.length).toBeGreaterThan(0);
    for (const key of response.body.keys) {
      expect(key).toMatchObject({
        kty: 'OKP',
        crv: 'Ed25519',
        kid: expect.any(String),
        x: expect.any(String),
      });
      expect(key).not.toHaveProperty('d');
    }
  });
});
