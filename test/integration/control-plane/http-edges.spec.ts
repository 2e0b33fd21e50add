/**
 * Issue 10, lesser findings at the control plane's HTTP edges, against the real control plane
 * and the real `git http-backend`:
 * - `info/refs?service=git-upload-pack&service=git-receive-pack` was read as a list by the
 *   access check (not a push: a viewer may) and as one of the two by git. A repeated query
 *   parameter is now a 400, so both always see the same request.
 * - 401s carried no `WWW-Authenticate` (RFC 9110 requires one; RFC 6750 says which): now
 *   `Bearer realm="stepgate"`, with `error="invalid_token"` when a token was sent and refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { createToken, ensureControlPlaneBuilt } from './support.js';

let cp: ControlPlaneProcess;
let viewer = '';

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  viewer = (await createToken(cp, 'edges-viewer', ['viewer'])).token;
}, 180_000);

afterAll(async () => {
  await cp?.destroy();
});

const basic = (token: string) => `Basic ${Buffer.from(`x:${token}`).toString('base64')}`;

describe('the embedded Git server', () => {
  it.each([
    'service=git-upload-pack&service=git-receive-pack',
    'service=git-receive-pack&service=git-upload-pack',
    'service=git-upload-pack&serv%69ce=git-receive-pack',
  ])('refuses info/refs?%s with a 400, whoever asks', async (query) => {
    for (const token of [viewer, cp.adminToken]) {
      const response = await fetch(`${cp.url}/git/policies.git/info/refs?${query}`, {
        headers: { authorization: basic(token) },
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'request/invalid',
        message: 'the query repeats "service"; send each parameter once',
      });
    }
  });

  it('still serves a single service parameter', async () => {
    const response = await fetch(`${cp.url}/git/policies.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: basic(viewer) },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(
      'application/x-git-upload-pack-advertisement',
    );
    await response.arrayBuffer();
  });
});

describe('401 challenges (RFC 6750)', () => {
  it('answers a request without a token with Bearer realm="stepgate"', async () => {
    const response = await fetch(`${cp.url}/v1/versions`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="stepgate"');
    expect((await response.json()).error).toBe('auth/unauthenticated');
  });

  it('answers a refused token with error="invalid_token"', async () => {
    const response = await fetch(`${cp.url}/v1/versions`, {
      headers: { authorization: 'Bearer sg_not_a_real_token_0123456789' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="stepgate", error="invalid_token", error_description="invalid or revoked token"',
    );
  });
});
