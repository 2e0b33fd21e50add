/**
 * POST /v1/check decides for a verified principal (issue 17 part 1), against a real control
 * plane (own database and Redis prefix) and a local stand-in for GitHub Actions' OIDC provider
 * (test/support/github-actions-oidc.ts cites the documentation it implements): its discovery
 * document and JWKS, fetched by the control plane because stepgate.yaml names it in `issuers:`.
 *
 * - a token's subject is the principal, roles come from data.people, never from the body;
 * - naming another principal needs check:any, and then the grants are not applied;
 * - a GitHub Actions job's ID token is verified (signature, audience, expiry) and its claims
 *   become the principal's attributes (repository, environment, ref, actor...).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  startGitHubActionsOidc,
  type GitHubActionsOidc,
} from '../../support/github-actions-oidc.js';
import {
  auditEvents,
  cloneEmbedded,
  enrolTotp,
  personToken,
  pushPolicies,
  settingsWith,
  totpCode,
} from './step-up-support.js';
import { api, ensureControlPlaneBuilt, tempDirs } from './support.js';

/** Roles read from principal.roles only: they can only come from data.people (or a token). */
const POLICY = [
  'apiVersion: stepgate/v1',
  'kind: Policy',
  'name: it-verified',
  'target:',
  '  actions: ["ship"]',
  '  resources: ["svc/**"]',
  'rules:',
  '  - name: main-only',
  '    effect: deny',
  '    when: \'"platform" in principal.attributes && principal.attributes.ref != "refs/heads/main"\'',
  '    message: Pipelines ship from main only.',
  '  - name: production-mfa',
  '    effect: step_up',
  '    when: resource.id.globMatch("svc/prod/**")',
  '    require: { level: mfa, maxAge: 15m }',
  '    message: Production needs MFA within 15 minutes.',
  '  - name: deployers',
  '    effect: allow',
  '    when: \'"deployer" in principal.roles\'',
  '',
].join('\n');

const temp = tempDirs();
let cp: ControlPlaneProcess;
let github: GitHubActionsOidc;
const tokens: Record<string, string> = {};

const dev = { action: 'ship', resource: { kind: 'service', id: 'svc/dev/api' } };
const prod = { action: 'ship', resource: { kind: 'service', id: 'svc/prod/api' } };

const check = (token: string, body: unknown) => api(cp.url, token, 'POST', '/v1/check', body);

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  github = await startGitHubActionsOidc();
  cp = await startControlPlane();
  const clone = temp.make('verified-check-');
  await cloneEmbedded(cp, clone);
  const settings = readFileSync(join(clone, 'stepgate.yaml'), 'utf8');
  await pushPolicies(
    cp,
    clone,
    {
      'stepgate.yaml': settingsWith(
        settings,
        [
          'issuers:',
          // Alone: its keys are found through its discovery document, as GitHub's are.
          `  - issuer: ${github.issuer}`,
          '    audience: stepgate',
          '    algorithms: [RS256]',
          '    claims: { principal: actor, shape: github-actions }',
        ].join('\n'),
      ),
      'cicd/it-verified.yaml': POLICY,
    },
    'Verified check suite: trust the local GitHub Actions issuer',
  );
  tokens.alice = await personToken(cp, 'alice');
  tokens.frank = await personToken(cp, 'frank');
  tokens.auditor = await personToken(cp, 'auditor', ['check:any']);
  // alice elevates once, for ship on production: a grant only she may use.
  const device = await enrolTotp(cp, tokens.alice, 'alice');
  const elevated = await api(cp.url, tokens.alice, 'POST', '/v1/elevation/totp', {
    code: await totpCode(device),
    actions: ['ship'],
    resources: ['svc/prod/**'],
  });
  expect(elevated.status, JSON.stringify(elevated.body)).toBe(201);
}, 240_000);

afterAll(async () => {
  await cp?.destroy();
  await github?.close();
  temp.cleanup();
});

describe('POST /v1/check: the principal is the verified one', () => {
  it("takes the principal from the token's subject and its roles from data.people", async () => {
    const alice = await check(tokens.alice, dev);
    expect(alice.status, JSON.stringify(alice.body)).toBe(200);
    expect(alice.body.decision.effect).toBe('allow');
    expect(alice.body.principal).toEqual({
      id: 'alice',
      source: 'token',
      roles: ['deployer'],
      groups: [],
    });
    // frank is a developer in data.people: no deployer role, whatever he may claim.
    const frank = await check(tokens.frank, dev);
    expect(frank.body.decision.effect).toBe('deny');
    expect(frank.body.principal).toMatchObject({ id: 'frank', roles: ['developer'] });
  });

  it('refuses roles in the body with a 400 that says where roles come from', async () => {
    const response = await check(tokens.frank, {
      ...dev,
      principal: { id: 'frank', roles: ['deployer'] },
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('request/invalid');
    expect(response.body.message).toContain('principal.roles');
    expect(response.body.message).toContain('data.people');
  });

  it('refuses a body principal other than the verified one without check:any', async () => {
    const response = await check(tokens.frank, { ...dev, principal: { id: 'alice' } });
    expect(response.status).toBe(403);
    expect(response.body.message).toMatch(/acts for "frank".*"alice".*check:any/);
    // Naming yourself is fine.
    const self = await check(tokens.frank, { ...dev, principal: { id: 'frank' } });
    expect(self.status).toBe(200);
  });

  it("with check:any answers for another principal without applying that principal's grants", async () => {
    // alice's own check: her elevation meets production's MFA.
    const own = await check(tokens.alice, prod);
    expect(own.body.decision.effect).toBe('allow');
    expect(own.body.grantsApplied).toBe(true);
    const asked = await check(tokens.auditor, { ...prod, principal: { id: 'alice' } });
    expect(asked.status, JSON.stringify(asked.body)).toBe(200);
    expect(asked.body.decision.effect).toBe('step_up');
    expect(asked.body.grantsApplied).toBe(false);
    expect(asked.body.principal).toMatchObject({ id: 'alice', source: 'asked' });
    expect(asked.body.note).toContain('without their grants');
    const audited = await auditEvents(cp, 'check.other_principal', 'alice');
    expect(audited[0]).toMatchObject({ actor: 'token:auditor-check:any' });
  });
});

describe('POST /v1/check with a GitHub Actions job token', () => {
  it("maps the job's claims to the principal and applies the actor's grants", async () => {
    const response = await check(await github.token(), prod);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.principal).toEqual({
      id: 'alice',
      source: 'id-token',
      roles: ['deployer'],
      groups: [],
      attributes: expect.objectContaining({
        platform: 'github-actions',
        repository: 'acme/billing',
        owner: 'acme',
        environment: 'production',
        ref: 'refs/heads/main',
        ref_protected: true,
        actor: 'alice',
        event: 'push',
        run_id: '9000001',
      }),
    });
    // The job runs as alice: her elevation counts.
    expect(response.body.decision.effect).toBe('allow');
    // The claims reach the policies: a job from another branch is refused.
    const branch = await check(await github.token({ ref: 'refs/heads/feature' }), dev);
    expect(branch.body.decision.effect).toBe('deny');
    expect(branch.body.decision.reasons[0]).toMatchObject({ rule: 'main-only' });
  });

  it('refuses forged, expired and wrong-audience tokens with a 401 naming why', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string][] = [
      [await github.token({}, { forged: true }), 'signature does not verify'],
      [await github.token({ iat: now - 900, nbf: now - 900, exp: now - 600 }), 'expired'],
      [await github.token({ aud: 'https://github.com/acme' }), 'audience'],
    ];
    for (const [token, why] of cases) {
      const response = await check(token, dev);
      expect(response.status, why).toBe(401);
      expect(response.body.error).toBe('auth/unauthenticated');
      expect(response.body.message).toContain('ID token refused');
      expect(response.body.message).toContain(why);
    }
  });

  it('is taken on /v1/check and approval requests only, never as an admin credential', async () => {
    const listed = await api(cp.url, await github.token(), 'GET', '/v1/grants');
    expect(listed.status).toBe(401);
    // And it cannot ask about someone else: it holds no scope.
    const other = await check(await github.token(), { ...dev, principal: { id: 'frank' } });
    expect(other.status).toBe(403);
  });
});
