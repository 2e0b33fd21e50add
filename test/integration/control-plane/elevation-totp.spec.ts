/**
 * TOTP elevation on the real control plane: enrol (a first factor with an admin's enrolment
 * code), confirm with the first code computed from the returned secret (no grant), and a later
 * code becomes a grant; a code is never accepted twice (not even by two requests at once); wrong
 * codes lock the factor (429 + Retry-After); the secret is sealed in Postgres; only human
 * tokens may elevate; every step is audited without the code or the secret.
 */
import { generate } from 'otplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneProcess } from '../../support/control-plane-process.js';
import { api } from './support.js';
import {
  auditEvents as auditEventsOf,
  issueEnrolmentCode,
  personToken,
  startWithDatabase,
  stopWithDatabase,
} from './step-up-support.js';

let cp: ControlPlaneProcess;
let db: pg.Client;

const tokenFor = (subject: string, scopes?: string[]) => personToken(cp, subject, scopes);

/** The code of the time step `offset` steps from now. */
function codeAt(secret: string, offset = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offset * 30 });
}

/** A 6-digit code that is none of the codes the server could accept right now. */
async function wrongCode(secret: string): Promise<string> {
  const valid = new Set(await Promise.all([-2, -1, 0, 1, 2].map((o) => codeAt(secret, o))));
  for (let n = 123_456; ; n = (n + 1) % 1_000_000) {
    const code = String(n).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

/** Enrols a first factor for `subject` with a fresh enrolment code: its (unconfirmed) secret. */
async function enrol(token: string, subject: string): Promise<string> {
  const { code: enrolmentCode } = await issueEnrolmentCode(cp, subject);
  const response = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {
    enrolmentCode,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.secret as string;
}

/** Enrols and confirms with the current step's code: later codes (offset >= 1) elevate. */
async function enrolConfirmed(token: string, subject: string): Promise<string> {
  const secret = await enrol(token, subject);
  const confirmed = await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
    code: await codeAt(secret),
  });
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  return secret;
}

const auditEvents = (action: string, target: string) => auditEventsOf(cp, action, target);

beforeAll(async () => {
  ({ cp, db } = await startWithDatabase());
}, 180_000);

afterAll(() => stopWithDatabase({ cp, db }));

describe('TOTP elevation', () => {
  it('enrols with an enrolment code, confirms with the first code (no grant), and a later code becomes a grant', async () => {
    const token = await tokenFor('alice');
    const { code: enrolmentCode } = await issueEnrolmentCode(cp, 'alice');
    const enrolled = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {
      enrolmentCode,
    });
    expect(enrolled.status).toBe(201);
    const secret = enrolled.body.secret as string;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolled.body).toMatchObject({ subject: 'alice', confirmed: false });
    expect(enrolled.body.otpauthUri).toBe(
      `otpauth://totp/Stepgate:alice?secret=${secret}&issuer=Stepgate`,
    );

    // An unconfirmed factor elevates nothing; confirming it grants nothing.
    const unconfirmed = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await codeAt(secret),
    });
    expect(unconfirmed.status).toBe(404);
    expect(unconfirmed.body.message).toContain('/v1/elevation/totp/confirm');
    const confirmed = await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
      code: await codeAt(secret),
    });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({ subject: 'alice', confirmed: true });
    const none = await api(cp.url, cp.adminToken, 'GET', '/v1/grants?subject=alice');
    expect(none.body.grants).toEqual([]);
    const twice = await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
      code: await codeAt(secret, 1),
    });
    expect(twice.status).toBe(409);

    const elevated = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await codeAt(secret, 1),
      actions: ['deploy'],
      resources: ['prod/**'],
      ttlSeconds: 300,
    });
    expect(elevated.status, JSON.stringify(elevated.body)).toBe(201);
    expect(elevated.body).toMatchObject({
      subject: 'alice',
      kind: 'elevation',
      method: 'totp',
      amr: ['otp'],
      approvals: [],
      actions: ['deploy'],
      resources: ['prod/**'],
      revokedAt: null,
    });
    const lifetime =
      Date.parse(elevated.body.expiresAt as string) - Date.parse(elevated.body.issuedAt as string);
    expect(lifetime).toBe(300_000);

    const stored = await db.query('SELECT subject, kind, method FROM "grant" WHERE id = $1', [
      elevated.body.id,
    ]);
    expect(stored.rows).toEqual([{ subject: 'alice', kind: 'elevation', method: 'totp' }]);
    const listed = await api(cp.url, cp.adminToken, 'GET', '/v1/grants?subject=alice');
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).toContain(elevated.body.id as string);

    const factor = await db.query(
      'SELECT confirmed_at, failed_attempts FROM totp_factor WHERE subject = $1',
      ['alice'],
    );
    expect(factor.rows[0].confirmed_at).not.toBeNull();
    expect(await auditEvents('elevation.totp', 'alice')).toHaveLength(1);
    expect(await auditEvents('elevation.totp.confirm', 'alice')).toHaveLength(1);
    expect(await auditEvents('elevation.totp.enroll', 'alice')).toHaveLength(1);
  });

  it('refuses to re-enrol a confirmed factor unless replaced with a current code', async () => {
    const token = await tokenFor('dora');
    const secret = await enrol(token, 'dora');
    // An unconfirmed factor is no factor: re-enrolling needs a new enrolment code...
    const noCode = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {});
    expect(noCode.status).toBe(401);
    expect(noCode.body.error).toBe('elevation/enrolment_code_required');
    // ...and replaces it (a new secret).
    const second = await enrol(token, 'dora');
    expect(second).not.toBe(secret);
    const stale = await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
      code: await codeAt(secret),
    });
    expect(stale.status).toBe(401);
    expect(
      (
        await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
          code: await codeAt(second),
        })
      ).status,
    ).toBe(200);

    const again = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {});
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('elevation/already_enrolled');
    const noTotp = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', { replace: true });
    expect(noTotp.status).toBe(400);
    const badCode = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {
      replace: true,
      code: await wrongCode(second),
    });
    expect(badCode.status).toBe(401);
    // The current step was used to confirm; the next one (within ±1 step of drift) is fresh.
    const replaced = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {
      replace: true,
      code: await codeAt(second, 1),
    });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(201);
    expect(replaced.body.secret).not.toBe(second);
    expect(replaced.body.confirmed).toBe(false);
  });

  it('never accepts the same code twice, and audits the replay', async () => {
    const token = await tokenFor('bob');
    const secret = await enrolConfirmed(token, 'bob');
    const code = await codeAt(secret, 1);
    const first = await api(cp.url, token, 'POST', '/v1/elevation/totp', { code });
    expect(first.status).toBe(201);
    const replay = await api(cp.url, token, 'POST', '/v1/elevation/totp', { code });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('elevation/invalid_code');
    expect(replay.body.message).toMatch(/already used/);
    // An older step (still within drift) is refused too: only later steps count.
    const older = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await codeAt(secret),
    });
    expect(older.status).toBe(401);

    const failures = await auditEvents('elevation.totp.failure', 'bob');
    expect(failures.map((f) => (f.details as { reason: string }).reason)).toContain('replay');
    expect(JSON.stringify(failures)).not.toContain(code);
    expect(JSON.stringify(failures)).not.toContain(secret);
  });

  it('lets only one of two concurrent submissions of one code through', async () => {
    const token = await tokenFor('erin');
    const secret = await enrolConfirmed(token, 'erin');
    const code = await codeAt(secret, 1);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => api(cp.url, token, 'POST', '/v1/elevation/totp', { code })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 401, 401, 401]);
  });

  it('locks the factor after 5 wrong codes: 429 with Retry-After, even for a right code', async () => {
    const token = await tokenFor('carol');
    const secret = await enrolConfirmed(token, 'carol');
    const wrong = await wrongCode(secret);
    for (let attempt = 1; attempt <= 4; attempt++) {
      const response = await api(cp.url, token, 'POST', '/v1/elevation/totp', { code: wrong });
      expect(response.status).toBe(401);
      expect(response.body.details).toEqual({ remainingAttempts: 5 - attempt });
    }
    const fifth = await fetch(`${cp.url}/v1/elevation/totp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code: wrong }),
    });
    expect(fifth.status).toBe(429);
    const retryAfter = Number(fifth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(290);
    expect(retryAfter).toBeLessThanOrEqual(300);
    const body = (await fifth.json()) as { error: string; details: { lockedUntil: string } };
    expect(body.error).toBe('elevation/throttled');
    expect(Date.parse(body.details.lockedUntil)).toBeGreaterThan(Date.now() + 290_000);

    const right = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await codeAt(secret, 1),
    });
    expect(right.status).toBe(429);
    expect(await auditEvents('elevation.totp.locked', 'carol')).toHaveLength(1);
    expect((await auditEvents('elevation.totp.failure', 'carol')).length).toBeGreaterThanOrEqual(6);

    // Lockout over (moved into the past here rather than waiting 5 minutes): a code works again.
    await db.query(
      "UPDATE totp_factor SET locked_until = now() - interval '1 second' WHERE subject = 'carol'",
    );
    const after = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await codeAt(secret, 1),
    });
    expect(after.status, JSON.stringify(after.body)).toBe(201);
  });

  it('stores the secret encrypted, never in plain text or in the log', async () => {
    const token = await tokenFor('frank');
    const secret = await enrol(token, 'frank');
    const row = await db.query('SELECT * FROM totp_factor WHERE subject = $1', ['frank']);
    expect(row.rows).toHaveLength(1);
    const stored = JSON.stringify(row.rows[0]);
    expect(row.rows[0].secret_encrypted).toMatch(/^v1\./);
    expect(stored.toUpperCase()).not.toContain(secret);
    expect(stored).not.toContain(Buffer.from(secret).toString('base64'));
    expect(cp.output()).not.toContain(secret);
  });

  it('is for people only: agent-only tokens are refused, other scopes may elevate', async () => {
    const agent = await tokenFor('robot', ['agent']);
    for (const [path, body] of [
      ['/v1/elevation/totp/enroll', {}],
      ['/v1/elevation/totp/confirm', { code: '123456' }],
      ['/v1/elevation/totp', { code: '123456' }],
    ] as const) {
      const response = await api(cp.url, agent, 'POST', path, body);
      expect(response.status).toBe(403);
      expect(response.body.error).toBe('auth/forbidden');
    }
    for (const scope of ['operator', 'approver']) {
      const token = await tokenFor(`human-${scope}`, [scope]);
      await enrol(token, `human-${scope}`);
    }
    const none = await api(cp.url, undefined, 'POST', '/v1/elevation/totp', { code: '123456' });
    expect(none.status).toBe(401);
  });

  it('answers bad input and a missing factor with clear 4xx errors', async () => {
    const token = await tokenFor('gina');
    const notEnrolled = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: '123456',
    });
    expect(notEnrolled.status).toBe(404);
    expect(notEnrolled.body.error).toBe('elevation/not_enrolled');
    expect(notEnrolled.body.message).toContain('/v1/elevation/totp/enroll');
    for (const body of [{ code: '12345' }, { code: 'abcdef' }, {}, { code: '123456', x: 1 }]) {
      const response = await api(cp.url, token, 'POST', '/v1/elevation/totp', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toBe('request/invalid');
    }
    const badScope = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: '123456',
      ttlSeconds: 5,
    });
    expect(badScope.status).toBe(400);
    for (const body of [{ code: '12345' }, {}, { code: '123456', actions: ['x'] }]) {
      const response = await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    const nothingToConfirm = await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
      code: '123456',
    });
    expect(nothingToConfirm.status).toBe(404);
  });

  it('is documented in /docs', async () => {
    const docs = await api(cp.url, undefined, 'GET', '/docs');
    expect(docs.status).toBe(200);
    const paths = docs.body.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/v1/elevation/totp'] ?? {})).toEqual(['post']);
    expect(paths['/v1/elevation/totp/confirm']).toHaveProperty('post');
    expect(paths['/v1/elevation/totp/{subject}']).toHaveProperty('delete');
    expect(paths['/v1/enrolment-codes']).toHaveProperty('post');
    expect(paths['/v1/elevation/webauthn/authentication']).toHaveProperty('post');
  });

  it('lets an admin remove a factor (audited); others may not', async () => {
    const token = await tokenFor('hank');
    const secret = await enrolConfirmed(token, 'hank');
    const operator = await tokenFor('olga', ['operator']);
    expect((await api(cp.url, operator, 'DELETE', '/v1/elevation/totp/hank')).status).toBe(403);
    const removed = await api(cp.url, cp.adminToken, 'DELETE', '/v1/elevation/totp/hank');
    expect(removed.status).toBe(204);
    expect(await auditEvents('elevation.totp.delete', 'hank')).toHaveLength(1);
    const after = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
      code: await codeAt(secret, 1),
    });
    expect(after.status).toBe(404);
    // Without a factor, enrolling again needs a new enrolment code (not just the token).
    const again = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {});
    expect(again.body.error).toBe('elevation/enrolment_code_required');
    expect((await api(cp.url, cp.adminToken, 'DELETE', '/v1/elevation/totp/hank')).status).toBe(
      404,
    );
  });
});
