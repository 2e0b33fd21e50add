/**
 * Risk signals while Redis is down (DESIGN "Failure behaviour": a clear 4xx/5xx, never a crash):
 * a real control plane on a private redis-server that is killed and started again. Events are
 * refused with 503 service/unavailable (nothing taken, the sender retries), inspection too, and
 * both work again once Redis is back, without a restart of the control plane.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  createToken,
  ensureControlPlaneBuilt,
  listVersions,
  privateRedis,
  type PrivateRedis,
} from './support.js';

let redis: PrivateRedis;
let cp: ControlPlaneProcess;
let events: string;

const post = (body: unknown) => api(cp.url, events, 'POST', '/v1/events', body);
const read = (subject: string) => api(cp.url, cp.adminToken, 'GET', `/v1/signals/${subject}`);

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  redis = await privateRedis();
  await redis.start();
  cp = await startControlPlane({ REDIS_URL: redis.url });
  events = (await createToken(cp, 'outage-idp', ['events'])).token;
  // The example declares failed_logins: events then reach the aggregation, not only the limit.
  await waitFor(
    'the seed version active, its signals declared',
    async () =>
      (await listVersions(cp)).some((v) => v.active) &&
      'failed_logins' in (await read('outage-x')).body.signals,
    180_000,
  );
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  await redis?.kill();
});

describe('risk signals without Redis', () => {
  it('answers 503 while Redis is down, and works again when it is back', async () => {
    const ok = await post({ type: 'login_failed', subject: 'outage-alice' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const first = await read('outage-alice');
    expect(first.body.signals.failed_logins?.value, JSON.stringify(first.body)).toBe(1);

    await redis.kill();
    const refused = await post({ type: 'login_failed', subject: 'outage-alice' });
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(refused.body).toEqual({
      error: 'service/unavailable',
      message: expect.stringContaining('Redis'),
    });
    expect((await read('outage-alice')).status).toBe(503);
    // Validation still answers first: a bad event is the caller's to fix, Redis or not.
    expect((await post({ type: 'login_failed', subject: '' })).status).toBe(400);

    await redis.start();
    // Redis here keeps nothing across restarts: the count starts again.
    await waitFor(
      'events taken again',
      async () => (await post({ type: 'login_failed', subject: 'outage-bob' })).status === 200,
      30_000,
      250,
    );
    expect((await read('outage-bob')).body.signals.failed_logins.value).toBeGreaterThanOrEqual(1);
    expect(cp.output()).not.toMatch(/unhandled error/);
  });
});
