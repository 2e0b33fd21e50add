/**
 * A person's first factor needs a one-time enrolment code an admin issued, not just their API
 * token, and enrolling grants nothing (issue 10, (d)). Real control plane, PostgreSQL and
 * Redis; TOTP codes from otplib, WebAuthn from the software authenticator. A stolen token of
 * someone who has not enrolled yet must not be worth an elevation.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneProcess } from '../../support/control-plane-process.js';
import { SoftAuthenticator } from '../../support/soft-authenticator.js';
import { api } from './support.js';
import {
  issueEnrolmentCode,
  personToken,
  startWithDatabase,
  stopWithDatabase,
  totpCode,
  type TotpDevice,
} from './step-up-support.js';

const RP_ID = 'stepgate.test';
const ORIGIN = 'https://stepgate.test';

let cp: ControlPlaneProcess;
let db: pg.Client;

const tokenFor = (subject: string, scopes?: string[]) => personToken(cp, subject, scopes);

async function grantsOf(subject: string): Promise<unknown[]> {
  const response = await api(
    cp.url,
    cp.adminToken,
    'GET',
    `/v1/grants?subject=${subject}&all=true`,
  );
  expect(response.status).toBe(200);
  return response.body.grants as unknown[];
}

async function audit(action: string) {
  const response = await api(cp.url, cp.adminToken, 'GET', `/v1/audit?action=${action}&limit=100`);
  expect(response.status).toBe(200);
  return response.body.events as Array<{ actor: string; target: string | null; details: any }>;
}

beforeAll(async () => {
  ({ cp, db } = await startWithDatabase({
    STEPGATE_WEBAUTHN_RP_ID: RP_ID,
    STEPGATE_WEBAUTHN_ORIGIN: ORIGIN,
  }));
}, 180_000);

afterAll(() => stopWithDatabase({ cp, db }));

describe('first-factor enrolment with a stolen token alone (the attack)', () => {
  it('refuses a first TOTP enrolment without an enrolment code, and grants nothing', async () => {
    const stolen = await tokenFor('victor');
    const enrol = await api(cp.url, stolen, 'POST', '/v1/elevation/totp/enroll', {});
    expect(enrol.status, JSON.stringify(enrol.body)).toBe(401);
    expect(enrol.body.error).toBe('elevation/enrolment_code_required');
    expect(enrol.body.message).toContain('stepgate enrolment-codes create victor');
    expect(JSON.stringify(enrol.body)).not.toMatch(/secret/i);
    // Nothing was stored for victor, and elevating is impossible.
    expect((await db.query("SELECT 1 FROM totp_factor WHERE subject = 'victor'")).rowCount).toBe(0);
    const elevate = await api(cp.url, stolen, 'POST', '/v1/elevation/totp', { code: '123456' });
    expect(elevate.status).toBe(404);
    expect(await grantsOf('victor')).toEqual([]);
    const refused = await audit('elevation.enrol.refused');
    expect(refused.find((e) => e.target === 'victor')).toMatchObject({
      actor: 'token:victor-viewer',
      details: { factor: 'totp' },
    });
  });

  it('refuses a first WebAuthn registration without an enrolment code', async () => {
    const stolen = await tokenFor('wendy');
    const options = await api(
      cp.url,
      stolen,
      'POST',
      '/v1/elevation/webauthn/registration/options',
      {},
    );
    expect(options.status, JSON.stringify(options.body)).toBe(401);
    expect(options.body.error).toBe('elevation/enrolment_code_required');
    expect(
      (await db.query("SELECT 1 FROM webauthn_challenge WHERE subject = 'wendy'")).rowCount,
    ).toBe(0);
  });

  it('refuses a wrong, foreign or expired code without telling which', async () => {
    const mallory = await tokenFor('mallory');
    const forAlice = await issueEnrolmentCode(cp, 'alice-x');
    const expired = await issueEnrolmentCode(cp, 'mallory');
    await db.query(
      "UPDATE enrolment_code SET expires_at = now() - interval '1 second' WHERE id = $1",
      [expired.id],
    );
    for (const enrolmentCode of [
      'sgenrol_not-a-real-code-000000000000',
      forAlice.code,
      expired.code,
    ]) {
      const response = await api(cp.url, mallory, 'POST', '/v1/elevation/totp/enroll', {
        enrolmentCode,
      });
      expect(response.status, JSON.stringify(response.body)).toBe(401);
      expect(response.body.error).toBe('elevation/enrolment_code_invalid');
      expect(response.body.message).toContain('unknown, used, expired or issued for someone else');
    }
    // Alice's code was not burnt by mallory's attempt.
    const row = await db.query('SELECT used_at FROM enrolment_code WHERE id = $1', [forAlice.id]);
    expect(row.rows[0].used_at).toBeNull();
    const reasons = (await audit('elevation.enrol.refused'))
      .filter((e) => e.target === 'mallory')
      .map((e) => e.details.why);
    expect(reasons).toEqual(
      expect.arrayContaining(['unknown code', 'code of another subject', 'code expired']),
    );
  });
});

describe('enrolment with a code', () => {
  it('enrols TOTP with a code, confirms without any grant, then elevates separately', async () => {
    const token = await tokenFor('olivia');
    const issued = await issueEnrolmentCode(cp, 'olivia');
    const enrol = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {
      enrolmentCode: issued.code,
    });
    expect(enrol.status, JSON.stringify(enrol.body)).toBe(201);
    expect(enrol.body).toMatchObject({ subject: 'olivia', confirmed: false });
    expect(enrol.body).not.toHaveProperty('grant');
    const device: TotpDevice = { secret: enrol.body.secret as string, lastStep: 0 };

    // An unconfirmed factor elevates nothing.
    const early = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await totpCode({ ...device }),
    });
    expect(early.status).toBe(404);
    expect(early.body.message).toContain('/v1/elevation/totp/confirm');

    const confirmed = await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
      code: await totpCode(device),
    });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toEqual({
      subject: 'olivia',
      confirmed: true,
      confirmedAt: expect.any(String),
    });
    expect(await grantsOf('olivia')).toEqual([]);

    // The code is used up: a second enrolment (or anyone else) cannot use it again.
    const row = await db.query('SELECT used_at FROM enrolment_code WHERE id = $1', [issued.id]);
    expect(row.rows[0].used_at).not.toBeNull();
    const events = await audit('enrolment_code.use');
    expect(events[0]).toMatchObject({ actor: 'token:olivia-viewer', target: 'olivia' });

    const elevated = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await totpCode(device),
      actions: ['deploy'],
    });
    expect(elevated.status, JSON.stringify(elevated.body)).toBe(201);
    expect(await grantsOf('olivia')).toHaveLength(1);
  });

  it('uses a code once, even when two enrolments race for it', async () => {
    const token = await tokenFor('pete');
    const issued = await issueEnrolmentCode(cp, 'pete');
    const results = await Promise.all(
      [0, 1, 2].map(() =>
        api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', { enrolmentCode: issued.code }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 401, 401]);
  });

  it('registers a first security key with a code (used by the finished registration only)', async () => {
    const token = await tokenFor('quinn');
    const key = new SoftAuthenticator(RP_ID, ORIGIN);
    const issued = await issueEnrolmentCode(cp, 'quinn');
    const options = await api(
      cp.url,
      token,
      'POST',
      '/v1/elevation/webauthn/registration/options',
      { enrolmentCode: issued.code },
    );
    expect(options.status, JSON.stringify(options.body)).toBe(200);
    // Asking for options does not use the code (a cancelled browser prompt must not burn it).
    let row = await db.query('SELECT used_at FROM enrolment_code WHERE id = $1', [issued.id]);
    expect(row.rows[0].used_at).toBeNull();
    const registered = await api(cp.url, token, 'POST', '/v1/elevation/webauthn/registration', {
      response: key.register(options.body),
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body).not.toHaveProperty('grant');
    expect(await grantsOf('quinn')).toEqual([]);
    row = await db.query('SELECT used_at FROM enrolment_code WHERE id = $1', [issued.id]);
    expect(row.rows[0].used_at).not.toBeNull();

    // The same code cannot finish a second registration.
    const again = await api(cp.url, token, 'POST', '/v1/elevation/webauthn/registration/options', {
      enrolmentCode: issued.code,
    });
    expect(again.status).toBe(401);
  });

  it('issues codes to admins only, shows the code once and keeps only its SHA-256', async () => {
    const operator = await tokenFor('opal', ['operator']);
    const refused = await api(cp.url, operator, 'POST', '/v1/enrolment-codes', { subject: 'x' });
    expect(refused.status).toBe(403);

    const issued = await api(cp.url, cp.adminToken, 'POST', '/v1/enrolment-codes', {
      subject: 'rita',
      ttlSeconds: 3600,
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    expect(issued.body).toMatchObject({
      id: expect.any(String),
      subject: 'rita',
      code: expect.stringMatching(/^sgenrol_[A-Za-z0-9_-]{32,}$/),
      createdBy: 'token:bootstrap-admin',
    });
    const lifetime = Date.parse(issued.body.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(3500_000);
    expect(lifetime).toBeLessThanOrEqual(3600_000);

    const row = await db.query('SELECT * FROM enrolment_code WHERE id = $1', [issued.body.id]);
    expect(row.rows[0].code_hash).toBe(
      createHash('sha256')
        .update(issued.body.code as string)
        .digest('hex'),
    );
    expect(JSON.stringify(row.rows[0])).not.toContain(issued.body.code);
    expect(cp.output()).not.toContain(issued.body.code);

    const listed = await api(cp.url, cp.adminToken, 'GET', '/v1/enrolment-codes?subject=rita');
    expect(listed.status).toBe(200);
    expect(listed.body.codes).toEqual([
      expect.objectContaining({ id: issued.body.id, subject: 'rita', usedAt: null }),
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(issued.body.code);
    const events = await audit('enrolment_code.create');
    expect(events[0]).toMatchObject({ actor: 'token:bootstrap-admin', target: 'rita' });
    expect(JSON.stringify(events)).not.toContain(issued.body.code);

    // Revoked before use: it no longer works.
    const revoked = await api(
      cp.url,
      cp.adminToken,
      'DELETE',
      `/v1/enrolment-codes/${issued.body.id}`,
    );
    expect(revoked.status).toBe(204);
    const rita = await tokenFor('rita');
    const late = await api(cp.url, rita, 'POST', '/v1/elevation/totp/enroll', {
      enrolmentCode: issued.body.code,
    });
    expect(late.status).toBe(401);
  });

  it('answers bad input with a 400 that names the field', async () => {
    for (const body of [
      {},
      { subject: '' },
      { subject: 'a b' },
      { subject: 'x', ttlSeconds: 5 },
      { subject: 'x', extra: 1 },
    ]) {
      const response = await api(cp.url, cp.adminToken, 'POST', '/v1/enrolment-codes', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toBe('request/invalid');
    }
    const token = await tokenFor('sam');
    const bad = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', { enrolmentCode: 7 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('enrolmentCode');
  });

  it('keeps the rule for further factors: a recent elevation, no code needed', async () => {
    const token = await tokenFor('tara');
    const issued = await issueEnrolmentCode(cp, 'tara');
    const enrol = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {
      enrolmentCode: issued.code,
    });
    const device: TotpDevice = { secret: enrol.body.secret as string, lastStep: 0 };
    await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
      code: await totpCode(device),
    });
    // A second code does not replace proof of the existing factor.
    const second = await issueEnrolmentCode(cp, 'tara');
    const key = new SoftAuthenticator(RP_ID, ORIGIN);
    const refused = await api(
      cp.url,
      token,
      'POST',
      '/v1/elevation/webauthn/registration/options',
      { enrolmentCode: second.code },
    );
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('auth/step_up_required');
    const elevated = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await totpCode(device),
    });
    expect(elevated.status).toBe(201);
    const options = await api(
      cp.url,
      token,
      'POST',
      '/v1/elevation/webauthn/registration/options',
      {},
    );
    expect(options.status, JSON.stringify(options.body)).toBe(200);
    const registered = await api(cp.url, token, 'POST', '/v1/elevation/webauthn/registration', {
      response: key.register(options.body),
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  });
});
