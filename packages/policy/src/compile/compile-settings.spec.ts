import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { parsePolicySet } from '../bundle/policy-set.js';

const allow = policy('p', '  - name: allow\n    effect: allow\n');
const EC_KEY = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' };

function withIssuers(yaml: string): Record<string, string> {
  return { 'stepgate.yaml': `${SETTINGS}issuers:\n${yaml}`, 'p.yaml': allow };
}

function messages(yaml: string): string[] {
  return compileErrors(withIssuers(yaml)).map((e) => `${e.file}:${e.line ?? '?'} ${e.message}`);
}

describe('compile: issuers in stepgate.yaml', () => {
  it('compiles a full issuer and fills the defaults of a minimal one', () => {
    const set = compileOk(
      withIssuers(`  - issuer: https://login.example.com/
    audience: stepgate
    jwksUrl: https://login.example.com/jwks
    algorithms: [RS256, ES256]
    clockSkew: 30s
    claims: { principal: email, roles: realm_access.roles, groups: groups, attributes: [email, "https://example.com/team"] }
    challenge: insufficient_claims
  - issuer: https://other.example.com
    audience: [a, b]
    jwks: { keys: [{ kty: EC, crv: P-256, x: x, y: y, kid: k1 }] }
`),
    );
    expect(set.settings.issuers).toEqual([
      {
        issuer: 'https://login.example.com/',
        audience: ['stepgate'],
        jwksUrl: 'https://login.example.com/jwks',
        algorithms: ['RS256', 'ES256'],
        clockSkew: 30,
        claims: {
          principal: 'email',
          roles: 'realm_access.roles',
          groups: 'groups',
          attributes: ['email', 'https://example.com/team'],
        },
        challenge: 'insufficient_claims',
      },
      {
        issuer: 'https://other.example.com',
        audience: ['a', 'b'],
        jwks: { keys: [EC_KEY] },
        algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
        clockSkew: 60,
        claims: { principal: 'sub', attributes: [] },
        challenge: 'rfc9470',
      },
    ]);
    // The shipped form keeps them: an agent reloads exactly what was compiled.
    expect(parsePolicySet(JSON.stringify(set)).settings.issuers).toEqual(set.settings.issuers);
  });

  it('reloads a policy set shipped before issuers existed as having none', () => {
    const set = compileOk({ 'p.yaml': allow });
    const { issuers: _dropped, ...old } = set.settings;
    expect(parsePolicySet({ ...set, settings: old }).settings.issuers).toEqual([]);
  });

  it('takes an issuer alone (keys by OIDC discovery) when it is a URL the control plane may fetch', () => {
    const set = compileOk(
      withIssuers(
        '  - { issuer: https://a.example, audience: x }\n  - { issuer: "http://127.0.0.1:9000/oidc", audience: x }\n',
      ),
    );
    expect(
      set.settings.issuers.map((issuer) => [issuer.issuer, issuer.jwksUrl, issuer.jwks]),
    ).toEqual([
      ['https://a.example', undefined, undefined],
      ['http://127.0.0.1:9000/oidc', undefined, undefined],
    ]);
  });

  it('refuses an issuer alone that discovery cannot fetch, naming the file and the line', () => {
    expect(
      messages(
        '  - issuer: corp-sso\n    audience: x\n  - issuer: http://sso.example\n    audience: x\n',
      ),
    ).toEqual([
      'stepgate.yaml:15 issuers[0]: without jwksUrl or inline jwks, the issuer must be an https:// URL (http:// only for localhost) for OIDC discovery, got "corp-sso"; or give jwksUrl (fetched by the control plane) or inline jwks: {keys: [...]}',
      expect.stringMatching(
        /^stepgate.yaml:17 issuers\[1\]: without jwksUrl .* got "http:\/\/sso.example"/,
      ),
    ]);
  });

  it('takes the claim shape of a CI system (GitHub Actions, GitLab CI) and refuses others', () => {
    const set = compileOk(
      withIssuers(
        '  - { issuer: https://token.actions.githubusercontent.com, audience: x, claims: { shape: github-actions } }\n',
      ),
    );
    expect(set.settings.issuers[0]?.claims).toEqual({
      principal: 'sub',
      attributes: [],
      shape: 'github-actions',
    });
    expect(parsePolicySet(JSON.stringify(set)).settings.issuers).toEqual(set.settings.issuers);
    expect(
      messages('  - { issuer: https://ci.example, audience: x, claims: { shape: jenkins } }\n'),
    ).toEqual([expect.stringMatching(/claims\.shape.*"github-actions".*"gitlab-ci"/)]);
  });

  it('refuses a duplicate issuer', () => {
    const errors =
      messages(`  - { issuer: https://a.example, audience: x, jwksUrl: https://a.example/jwks }
  - { issuer: https://a.example, audience: y, jwksUrl: https://a.example/jwks }
`);
    expect(errors).toEqual([
      'stepgate.yaml:16 issuers[1]: issuer "https://a.example" is declared twice',
    ]);
  });

  it('refuses none, HMAC and unknown algorithms', () => {
    const errors = messages(
      '  - { issuer: https://a.example, audience: x, jwksUrl: https://a.example/jwks, algorithms: [none, HS256, RS999] }\n',
    );
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/algorithm "none" is refused/);
    expect(errors[1]).toMatch(/algorithm "HS256" is refused: .*HMAC/);
    expect(errors[2]).toMatch(/unknown algorithm "RS999"/);
  });

  it('refuses a jwksUrl that is not http(s), a bad clockSkew and private inline keys', () => {
    const errors = messages(`  - issuer: https://a.example
    audience: x
    jwksUrl: file:///etc/passwd
    clockSkew: soon
  - issuer: https://b.example
    audience: x
    jwks: { keys: [{ kty: RSA, n: n, e: AQAB, d: secret }, { kty: oct, k: abc }, { kid: nokty }] }
`);
    expect(errors).toEqual([
      'stepgate.yaml:17 issuers[0]: jwksUrl must be an https:// URL (http:// only for localhost), got "file:///etc/passwd"',
      'stepgate.yaml:18 issuers[0]: clockSkew must be a duration up to 1h (e.g. 30s, 2m), got "soon"',
      expect.stringMatching(/issuers\[1\]: inline key 0 holds private key material \(d\)/),
      expect.stringMatching(/issuers\[1\]: inline keys must be public keys, not shared secrets/),
      expect.stringMatching(/issuers\[1\]: inline key 1 holds private key material \(k\)/),
      expect.stringMatching(/issuers\[1\]: every inline key needs a kty/),
    ]);
  });

  it('takes plain http for a loopback jwksUrl only', () => {
    const remote = messages(
      '  - { issuer: https://a.example, audience: x, jwksUrl: http://a.example/jwks }\n',
    );
    expect(remote).toEqual([expect.stringMatching(/jwksUrl must be an https:\/\/ URL/)]);
    for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9000'])
      compileOk(
        withIssuers(
          `  - { issuer: https://a.example, audience: x, jwksUrl: "http://${host}/jwks" }\n`,
        ),
      );
  });

  it('refuses unknown fields, a missing audience and attributes that collide', () => {
    const errors = messages(`  - issuer: https://a.example
    jwksUrl: https://a.example/jwks
    audiance: x
    claims: { attributes: [email, org.email] }
`);
    expect(errors).toEqual([
      expect.stringMatching(/issuers\[0\]\.audience: is required/),
      expect.stringMatching(/issuers\[0\]\.audiance: unknown field "audiance"/),
    ]);
    const collide = messages(
      '  - { issuer: https://a.example, audience: x, jwksUrl: https://a.example/jwks, claims: { attributes: [email, org.email] } }\n',
    );
    expect(collide).toEqual([
      expect.stringMatching(/two attribute claims would both become principal\.attributes\.email/),
    ]);
  });
});
