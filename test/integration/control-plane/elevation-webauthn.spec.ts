/**
 * WebAuthn elevation on the real control plane with a software authenticator (real P-256 keys,
 * "none" attestation, ES256 assertions): register (a first key with an admin's enrolment code;
 * registering grants nothing), authenticate -> a scoped grant; challenges
 * are single-use, expire, and belong to one subject; user verification is required; a signature
 * counter that does not increase is refused as a possible clone; every refusal is audited.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneProcess } from '../../support/control-plane-process.js';
import { SoftAuthenticator, type CeremonyOverrides } from '../../support/soft-authenticator.js';
import { api } from './support.js';
import {
  auditEvents as auditEventsOf,
  issueEnrolmentCode,
  personToken,
  startWithDatabase,
  stopWithDatabase,
} from './step-up-support.js';

const RP_ID = 'stepgate.test';
const ORIGIN = 'https://stepgate.test';

let cp: ControlPlaneProcess;
let db: pg.Client;

interface Person {
  subject: string;
  token: string;
  key: SoftAuthenticator;
}

async function person(subject: string, scopes: string[] = ['viewer']): Promise<Person> {
  return {
    subject,
    token: await personToken(cp, subject, scopes),
    key: new SoftAuthenticator(RP_ID, ORIGIN),
  };
}

/** Registers `who.key`: a first factor with a fresh enrolment code, a further one without. */
async function register(who: Person, overrides: CeremonyOverrides = {}, first = true) {
  const body = first ? { enrolmentCode: (await issueEnrolmentCode(cp, who.subject)).code } : {};
  const options = await api(
    cp.url,
    who.token,
    'POST',
    '/v1/elevation/webauthn/registration/options',
    body,
  );
  expect(options.status, JSON.stringify(options.body)).toBe(200);
  return api(cp.url, who.token, 'POST', '/v1/elevation/webauthn/registration', {
    response: who.key.register(options.body, overrides),
  });
}

async function authenticationOptions(who: Person, scope: Record<string, unknown> = {}) {
  const options = await api(
    cp.url,
    who.token,
    'POST',
    '/v1/elevation/webauthn/authentication/options',
    scope,
  );
  expect(options.status, JSON.stringify(options.body)).toBe(200);
  return options.body as { challenge: string; rpId: string; allowCredentials: { id: string }[] };
}

function answer(who: Person, response: Record<string, unknown>) {
  return api(cp.url, who.token, 'POST', '/v1/elevation/webauthn/authentication', { response });
}

const auditEvents = (action: string, target: string) => auditEventsOf(cp, action, target);

beforeAll(async () => {
  ({ cp, db } = await startWithDatabase({
    STEPGATE_WEBAUTHN_RP_ID: RP_ID,
    STEPGATE_WEBAUTHN_ORIGIN: ORIGIN,
  }));
}, 180_000);

afterAll(() => stopWithDatabase({ cp, db }));

describe('WebAuthn elevation', () => {
  it('registers an authenticator and turns a user-verified assertion into a scoped grant', async () => {
    const alice = await person('alice');
    const { code: enrolmentCode } = await issueEnrolmentCode(cp, 'alice');
    const options = await api(
      cp.url,
      alice.token,
      'POST',
      '/v1/elevation/webauthn/registration/options',
      { enrolmentCode },
    );
    expect(options.status).toBe(200);
    expect(options.body).toMatchObject({
      rp: { id: RP_ID, name: 'Stepgate' },
      user: { name: 'alice' },
      attestation: 'none',
      authenticatorSelection: { userVerification: 'required' },
    });
    expect(options.body.challenge).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const registered = await api(
      cp.url,
      alice.token,
      'POST',
      '/v1/elevation/webauthn/registration',
      {
        response: alice.key.register(options.body),
      },
    );
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const credentialId = [...alice.key.credentials.keys()][0];
    expect(registered.body).toMatchObject({
      id: credentialId,
      subject: 'alice',
      transports: ['usb'],
    });
    const row = await db.query(
      'SELECT subject, counter, length(public_key) AS bytes FROM webauthn_credential WHERE id = $1',
      [credentialId],
    );
    expect(row.rows).toEqual([{ subject: 'alice', counter: '0', bytes: expect.any(Number) }]);
    expect(await auditEvents('elevation.webauthn.register', 'alice')).toHaveLength(1);
    expect(await auditEvents('enrolment_code.use', 'alice')).toHaveLength(1);
    // Registering granted nothing.
    const none = await api(cp.url, cp.adminToken, 'GET', '/v1/grants?subject=alice');
    expect(none.body.grants).toEqual([]);

    const request = await authenticationOptions(alice, {
      actions: ['deploy'],
      resources: ['prod/**'],
      ttlSeconds: 120,
    });
    expect(request).toMatchObject({
      rpId: RP_ID,
      userVerification: 'required',
      allowCredentials: [{ id: credentialId, type: 'public-key' }],
    });
    const grant = await answer(alice, alice.key.authenticate(request));
    expect(grant.status, JSON.stringify(grant.body)).toBe(201);
    expect(grant.body).toMatchObject({
      subject: 'alice',
      kind: 'elevation',
      method: 'webauthn',
      amr: ['hwk', 'user'],
      actions: ['deploy'],
      resources: ['prod/**'],
    });
    expect(Date.parse(grant.body.expiresAt) - Date.parse(grant.body.issuedAt)).toBe(120_000);
    const stored = await db.query('SELECT method FROM "grant" WHERE id = $1', [grant.body.id]);
    expect(stored.rows).toEqual([{ method: 'webauthn' }]);
    const counter = await db.query('SELECT counter FROM webauthn_credential WHERE id = $1', [
      credentialId,
    ]);
    expect(counter.rows[0].counter).toBe('1');
    expect(await auditEvents('elevation.webauthn', 'alice')).toHaveLength(1);

    // A second elevation needs a new challenge and a higher counter; both are fine here.
    const again = await answer(alice, alice.key.authenticate(await authenticationOptions(alice)));
    expect(again.status).toBe(201);
    expect(again.body.actions).toEqual(['**']); // no scope asked: every action
  });

  it('adds a second factor only after a recent elevation with an existing one, audited', async () => {
    const frank = await person('frank');
    expect((await register(frank)).status).toBe(201);
    // A stolen token alone cannot register the thief's own key, nor a TOTP secret.
    const thief = new SoftAuthenticator(RP_ID, ORIGIN);
    const refused = await api(
      cp.url,
      frank.token,
      'POST',
      '/v1/elevation/webauthn/registration/options',
    );
    expect(refused.status, JSON.stringify(refused.body)).toBe(401);
    expect(refused.body.error).toBe('auth/step_up_required');
    expect(refused.body.message).toContain('npx stepgate elevate');
    const totp = await api(cp.url, frank.token, 'POST', '/v1/elevation/totp/enroll', {});
    expect(totp.status, JSON.stringify(totp.body)).toBe(401);
    expect(await auditEvents('elevation.enrol.refused', 'frank')).toHaveLength(2);

    // Proving the registered key (an elevation grant) opens enrolment for 10 minutes.
    const request = await authenticationOptions(frank);
    const elevated = await answer(frank, frank.key.authenticate(request));
    expect(elevated.status, JSON.stringify(elevated.body)).toBe(201);
    const second = await register({ ...frank, key: thief }, {}, false);
    expect(second.status, JSON.stringify(second.body)).toBe(201);
  });

  it('refuses a challenge answered twice, even after a success', async () => {
    const bob = await person('bob');
    expect((await register(bob)).status).toBe(201);
    const request = await authenticationOptions(bob);
    expect((await answer(bob, bob.key.authenticate(request))).status).toBe(201);
    const reused = await answer(bob, bob.key.authenticate(request));
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('elevation/challenge_invalid');
    expect(reused.body.message).toMatch(/already used|unknown/);
  });

  it('requires user verification, and a refused attempt still uses up its challenge', async () => {
    const carol = await person('carol');
    expect((await register(carol)).status).toBe(201);
    const request = await authenticationOptions(carol);
    const noUv = await answer(carol, carol.key.authenticate(request, { userVerified: false }));
    expect(noUv.status).toBe(401);
    expect(noUv.body.error).toBe('elevation/invalid_code');
    expect(noUv.body.message).toMatch(/user verification/i);
    const failures = await auditEvents('elevation.webauthn.failure', 'carol');
    expect(failures).toHaveLength(1);

    const retry = await answer(carol, carol.key.authenticate(request));
    expect(retry.status).toBe(400);
    expect(retry.body.error).toBe('elevation/challenge_invalid');

    // Registration needs it too.
    const dave = await person('dave');
    const refused = await register(dave, { userVerified: false });
    expect(refused.status).toBe(401);
    expect(await auditEvents('elevation.webauthn.registration_failure', 'dave')).toHaveLength(1);
    expect(
      (await db.query("SELECT 1 FROM webauthn_credential WHERE subject = 'dave'")).rowCount,
    ).toBe(0);
  });

  it('refuses a signature counter that does not increase (a possible clone), audited', async () => {
    const erin = await person('erin');
    expect((await register(erin)).status).toBe(201);
    expect(
      (await answer(erin, erin.key.authenticate(await authenticationOptions(erin), { counter: 5 })))
        .status,
    ).toBe(201);
    for (const counter of [5, 3]) {
      const clone = await answer(
        erin,
        erin.key.authenticate(await authenticationOptions(erin), { counter }),
      );
      expect(clone.status).toBe(401);
      expect(clone.body.message).toMatch(/counter .*cloned/);
    }
    expect(await auditEvents('elevation.webauthn.clone_suspected', 'erin')).toHaveLength(2);
    const row = await db.query("SELECT counter FROM webauthn_credential WHERE subject = 'erin'");
    expect(row.rows[0].counter).toBe('5');
    const next = await answer(
      erin,
      erin.key.authenticate(await authenticationOptions(erin), { counter: 6 }),
    );
    expect(next.status).toBe(201);
  });

  it("refuses another subject's challenge without using it up", async () => {
    const frank = await person('frank');
    const gina = await person('gina');
    expect((await register(frank)).status).toBe(201);
    expect((await register(gina)).status).toBe(201);
    const ginasRequest = await authenticationOptions(gina, { actions: ['secrets:read'] });
    const franksRequest = await authenticationOptions(frank);
    const stolen = await answer(
      frank,
      frank.key.authenticate(franksRequest, { challenge: ginasRequest.challenge }),
    );
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('elevation/challenge_invalid');
    // Gina's challenge is still hers to answer.
    const ginas = await answer(gina, gina.key.authenticate(ginasRequest));
    expect(ginas.status).toBe(201);
    expect(ginas.body).toMatchObject({ subject: 'gina', actions: ['secrets:read'] });
    // Frank answering with Gina's credential on his own challenge is refused too.
    const borrowed = gina.key.authenticate({
      ...(await authenticationOptions(frank)),
      allowCredentials: undefined,
    });
    const wrongKey = await answer(frank, borrowed);
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.body.message).toMatch(/unknown credential/);
  });

  it('refuses expired challenges and responses for another origin', async () => {
    const hank = await person('hank');
    expect((await register(hank)).status).toBe(201);
    const expired = await authenticationOptions(hank);
    await db.query(
      "UPDATE webauthn_challenge SET expires_at = now() - interval '1 second' WHERE challenge = $1",
      [expired.challenge],
    );
    const late = await answer(hank, hank.key.authenticate(expired));
    expect(late.status).toBe(400);
    expect(late.body.message).toMatch(/expired/);

    const phished = await answer(
      hank,
      hank.key.authenticate(await authenticationOptions(hank), { origin: 'https://evil.test' }),
    );
    expect(phished.status).toBe(401);
    expect(phished.body.message).toMatch(/origin/);
  });

  it('is for people only, and answers bad input with clear 4xx errors', async () => {
    const robot = await person('robot', ['agent']);
    for (const path of [
      '/v1/elevation/webauthn/registration/options',
      '/v1/elevation/webauthn/authentication/options',
    ]) {
      const response = await api(cp.url, robot.token, 'POST', path, {});
      expect(response.status).toBe(403);
    }
    const ivan = await person('ivan', ['approver']);
    const none = await api(
      cp.url,
      ivan.token,
      'POST',
      '/v1/elevation/webauthn/authentication/options',
      {},
    );
    expect(none.status).toBe(404);
    expect(none.body.error).toBe('elevation/not_enrolled');

    const malformed = await answer(ivan, { id: 'x', rawId: 'x', type: 'public-key', response: {} });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('request/invalid');
    expect(malformed.body.message).toContain('response.response.clientDataJSON');
    const notJson = await answer(ivan, {
      id: 'x',
      rawId: 'x',
      type: 'public-key',
      response: { clientDataJSON: 'bm90IGpzb24', authenticatorData: 'AA', signature: 'AA' },
    });
    expect(notJson.status).toBe(400);
    const extra = await api(cp.url, ivan.token, 'POST', '/v1/elevation/webauthn/authentication', {
      response: {},
      extra: true,
    });
    expect(extra.status).toBe(400);
    // A well-formed, correctly signed answer to a challenge nobody issued.
    expect((await register(ivan)).status).toBe(201);
    const forged = await answer(
      ivan,
      ivan.key.authenticate({
        ...(await authenticationOptions(ivan)),
        challenge: 'bm9ib2R5LWFza2Vk',
      }),
    );
    expect(forged.status).toBe(400);
    expect(forged.body.error).toBe('elevation/challenge_invalid');
  });

  it('lets an admin remove a lost key (audited); then only an enrolment code enrols again', async () => {
    const jill = await person('jill');
    expect((await register(jill)).status).toBe(201);
    const operator = await person('olaf', ['operator']);
    expect(
      (await api(cp.url, operator.token, 'DELETE', '/v1/elevation/webauthn/jill')).status,
    ).toBe(403);
    const removed = await api(cp.url, cp.adminToken, 'DELETE', '/v1/elevation/webauthn/jill');
    expect(removed.status, JSON.stringify(removed.body)).toBe(204);
    expect(await auditEvents('elevation.webauthn.delete', 'jill')).toHaveLength(1);
    expect(
      (await db.query("SELECT 1 FROM webauthn_credential WHERE subject = 'jill'")).rowCount,
    ).toBe(0);
    const again = await api(
      cp.url,
      jill.token,
      'POST',
      '/v1/elevation/webauthn/registration/options',
      {},
    );
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('elevation/enrolment_code_required');
    expect((await api(cp.url, cp.adminToken, 'DELETE', '/v1/elevation/webauthn/jill')).status).toBe(
      404,
    );
  });
});
