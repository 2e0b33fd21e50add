import { beforeAll, describe, expect, it } from 'vitest';
import { StepgateError } from '@stepgate/protocol';
import { DOCS_POLICY, policySet, signer } from '../__support__/fakes.js';
import { httpDecisionRequest, normalizeHttpPath } from '../http-mapping.js';
import { createDecisionPoint, type InProcessDecisionPoint } from './create-decision-point.js';
import type { HttpRequestLike } from './enforcement.js';
import { expressMiddleware } from './express-middleware.js';
import { StepgateGuard } from './nest-guard.js';

const HTTP_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: web
target: { actions: ["http:*"] }
rules:
  - name: blocked
    effect: deny
    when: resource.id.startsWith("/blocked")
    message: Blocked.
  - name: admin-mfa
    effect: step_up
    when: resource.id.startsWith("/admin")
    require: { level: mfa, maxAge: 10m }
    message: Admin pages need recent MFA.
  - name: everyone
    effect: allow
`;

let sdk: InProcessDecisionPoint;
let key: Awaited<ReturnType<typeof signer>>;

beforeAll(async () => {
  key = await signer();
  sdk = await createDecisionPoint({
    trustedKeys: key.jwks,
    bundle: await key.sign(policySet({ 'web.yaml': HTTP_POLICY, 'docs.yaml': DOCS_POLICY }), 1),
    logCapacity: 100,
  });
});

/** A recording stand-in for an Express response. */
function expressResponse() {
  const res = {
    statusCode: 200,
    headers: {} as Record<string, string>,
    body: undefined as unknown,
    locals: {} as Record<string, unknown>,
    status(code: number) {
      res.statusCode = code;
      return res;
    },
    setHeader(name: string, value: string) {
      res.headers[name.toLowerCase()] = value;
      return res;
    },
    json(body: unknown) {
      res.body = body;
      return res;
    },
  };
  return res;
}

function run(req: HttpRequestLike, options: Parameters<typeof expressMiddleware>[1] = {}) {
  const res = expressResponse();
  let nextCalls = 0;
  let nextError: unknown;
  expressMiddleware(sdk.point, options)(req, res, (error?: unknown) => {
    nextCalls++;
    nextError = error;
  });
  return { res, nextCalls, nextError };
}

describe('expressMiddleware', () => {
  it('calls next() on allow, with the decision on res.locals', () => {
    const { res, nextCalls } = run({ method: 'GET', originalUrl: '/home?x=1', headers: {} });
    expect(nextCalls).toBe(1);
    expect(res.locals.stepgate).toMatchObject({ effect: 'allow' });
    expect(res.headers['x-stepgate-decision-id']).toBeDefined();
  });

  it('answers 403 on deny', () => {
    const { res, nextCalls } = run({ method: 'GET', originalUrl: '/blocked/1' });
    expect(nextCalls).toBe(0);
    expect(res.statusCode).toBe(403);
    expect(res.body).toMatchObject({ error: 'auth/forbidden', message: 'Blocked.' });
  });

  it('answers 401 with the RFC 9470 challenge on step-up', () => {
    const { res } = run({ method: 'POST', originalUrl: '/admin/users' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Admin pages need recent MFA.", acr_values="urn:stepgate:mfa http://schemas.openid.net/pape/policies/2007/06/multi-factor", max_age=600',
    );
    expect(res.body).toMatchObject({
      error: 'auth/step_up_required',
      require: { level: 'mfa', maxAge: 600 },
      unmet: ['level', 'maxAge'],
    });
  });

  it('lets verified evidence satisfy the step-up', () => {
    const { nextCalls } = run(
      { method: 'POST', originalUrl: '/admin/users' },
      { evidence: () => ({ level: 'mfa', authTime: new Date() }) },
    );
    expect(nextCalls).toBe(1);
  });

  it('asks for the level and the freshness when only freshness is unmet, naming it unmet', () => {
    const { res } = run(
      { method: 'POST', originalUrl: '/admin/users' },
      { evidence: () => ({ level: 'mfa', authTime: new Date(Date.now() - 3_600_000) }) },
    );
    expect(res.headers['www-authenticate']).toMatch(
      /, acr_values="urn:stepgate:mfa [^"]+", max_age=600$/,
    );
    expect(res.body).toMatchObject({ require: { level: 'mfa', maxAge: 600 }, unmet: ['maxAge'] });
  });

  it('supports the insufficient_claims style and a custom mapping', () => {
    const { res } = run(
      { method: 'GET', originalUrl: '/ignored', user: { id: 'rita', roles: ['reader'] } },
      {
        challenge: 'insufficient_claims',
        mapRequest: (req) => ({
          principal: { id: (req.user as { id: string }).id, roles: ['reader'] },
          action: 'docs:read',
          resource: { kind: 'doc', id: 'secret/plan' },
        }),
      },
    );
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="insufficient_claims"/);
  });

  it('answers 400 for a request it cannot map, and passes other errors to next', () => {
    expect(run({ method: 'G E T', originalUrl: '/' }).res.statusCode).toBe(400);
    const boom = new Error('boom');
    const { nextError } = run(
      { method: 'GET', originalUrl: '/' },
      {
        mapRequest: () => {
          throw boom;
        },
      },
    );
    expect(nextError).toBe(boom);
  });

  it('maps req.user to the principal', () => {
    const before = sdk.logs!.size;
    run({
      method: 'GET',
      originalUrl: '/',
      user: { id: 'u1', roles: ['a'], groups: 'not-a-list' },
      ip: '10.0.0.1',
    });
    const batch = sdk.logs!.takeBatch(1000)!;
    sdk.logs!.ackBatch(batch.batchId);
    expect(batch.records.length).toBe(before + 1);
    expect(batch.records.at(-1)?.input).toEqual({
      principal: { id: 'u1', roles: ['a'] },
      action: 'http:GET',
      resource: { kind: 'http', id: '/' },
      context: { ip: '10.0.0.1' },
    });
  });
});

describe('StepgateGuard', () => {
  const context = (req: HttpRequestLike, res: unknown) => ({
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  });

  it('returns true on allow', () => {
    const guard = new StepgateGuard(sdk.point);
    expect(guard.canActivate(context({ method: 'GET', url: '/' }, expressResponse()))).toBe(true);
  });

  it('writes 401 with the challenge itself and returns false (Express adapter)', () => {
    const res = expressResponse();
    expect(
      new StepgateGuard(sdk.point).canActivate(context({ method: 'DELETE', url: '/admin/x' }, res)),
    ).toBe(false);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('insufficient_user_authentication');
  });

  it('works with a Fastify reply', () => {
    const reply = {
      sent: { code: 0, headers: {} as Record<string, string>, body: undefined as unknown },
      code(status: number) {
        reply.sent.code = status;
        return reply;
      },
      header(name: string, value: string) {
        reply.sent.headers[name] = value;
        return reply;
      },
      send(body: unknown) {
        reply.sent.body = body;
        return reply;
      },
    };
    expect(
      new StepgateGuard(sdk.point).canActivate(context({ method: 'GET', url: '/blocked' }, reply)),
    ).toBe(false);
    expect(reply.sent.code).toBe(403);
  });

  it('refuses non-HTTP contexts', () => {
    expect(() =>
      new StepgateGuard(sdk.point).canActivate({ ...context({}, {}), getType: () => 'ws' }),
    ).toThrow(/HTTP/);
  });
});

describe('createDecisionPoint', () => {
  it('refuses a bundle that does not verify', async () => {
    const other = await signer();
    await expect(
      createDecisionPoint({ trustedKeys: key.jwks, bundle: await other.sign(policySet({}), 1) }),
    ).rejects.toThrow(/refused/);
  });

  it('loads newer bundles later', async () => {
    const point = await createDecisionPoint({ trustedKeys: key.jwks });
    expect(point.point.decide(httpDecisionRequest('GET', '/')).failReason).toBe('no_bundle');
    expect(
      await point.load(await key.sign(policySet({ 'web.yaml': HTTP_POLICY }), 3)),
    ).toMatchObject({
      applied: true,
    });
    expect(point.point.decide(httpDecisionRequest('GET', '/')).effect).toBe('allow');
  });
});

describe('normalizeHttpPath', () => {
  it.each([
    ['/a/b?x=1#f', '/a/b'],
    ['/public/../admin/x', '/admin/x'],
    ['//admin///x/', '/admin/x/'],
    ['/%61dmin/%2e%2e/admin', '/admin'],
    ['/a%2Fb', '/a/b'],
    ['', '/'],
    ['relative/path', '/relative/path'],
    ['https://example.com/x/y?z', '/x/y'],
    ['/../../etc', '/etc'],
  ])('%s -> %s', (raw, expected) => {
    expect(normalizeHttpPath(raw)).toBe(expected);
  });

  it('refuses malformed encodings and control characters', () => {
    expect(() => normalizeHttpPath('/%zz')).toThrow(StepgateError);
    expect(() => normalizeHttpPath('/a%00b')).toThrow(StepgateError);
  });
});
