import { describe, expect, it } from 'vitest';
import { resolveIdToken } from './id-token.js';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

describe('resolveIdToken', () => {
  it('is nothing without --id-token or STEPGATE_ID_TOKEN', async () => {
    expect(await resolveIdToken({}, {})).toBeUndefined();
  });

  it('takes a JWT as given (GitLab id_tokens), the flag first', async () => {
    expect(await resolveIdToken({}, { STEPGATE_ID_TOKEN: JWT })).toBe(JWT);
    await expect(
      resolveIdToken({ idToken: 'not-a-jwt' }, { STEPGATE_ID_TOKEN: JWT }),
    ).rejects.toThrow(/not a JWT/);
  });

  it('asks the GitHub Actions runtime with &audience= and its bearer token', async () => {
    const seen: { url: string; auth: string | null }[] = [];
    const fetchFn = (async (url: string, init: RequestInit) => {
      seen.push({ url, auth: new Headers(init.headers).get('authorization') });
      return new Response(JSON.stringify({ count: 1, value: JWT }), { status: 200 });
    }) as typeof fetch;
    const env = {
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://runner.example/idtoken?api-version=2.0',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runtime',
    };
    expect(await resolveIdToken({ idToken: 'github' }, env, fetchFn)).toBe(JWT);
    expect(await resolveIdToken({ idToken: 'github', audience: 'sg prod' }, env, fetchFn)).toBe(
      JWT,
    );
    expect(seen).toEqual([
      { url: `${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=stepgate`, auth: 'bearer runtime' },
      { url: `${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=sg%20prod`, auth: 'bearer runtime' },
    ]);
  });

  it('says what to do without the id-token permission or a token in the answer', async () => {
    await expect(resolveIdToken({ idToken: 'github' }, {})).rejects.toThrow(/id-token: write/);
    const refused = (async () => new Response('{}', { status: 403 })) as unknown as typeof fetch;
    await expect(
      resolveIdToken(
        { idToken: 'github' },
        { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://r/x?a=1', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' },
        refused,
      ),
    ).rejects.toThrow(/HTTP 403/);
  });
});
