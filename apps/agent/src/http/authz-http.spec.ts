import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { anonymousIdentity, proxiedRequest } from './authz-http.js';

function map(method: string, url: string, headers: Record<string, string> = {}) {
  const req = { method, url, headers } as unknown as IncomingMessage;
  const cut = url.indexOf('?');
  return proxiedRequest(
    req,
    cut >= 0 ? url.slice(0, cut) : url,
    cut >= 0 ? url.slice(cut) : '',
    anonymousIdentity(),
  );
}

describe('proxiedRequest', () => {
  it('reads nginx auth_request headers', () => {
    expect(
      map('GET', '/v1/authz/http', {
        'x-original-uri': '/admin/users?page=2',
        'x-original-method': 'post',
        'x-forwarded-for': '203.0.113.9, 192.0.2.1',
        host: 'app.example.com',
        'user-agent': 'curl/8',
      }),
    ).toEqual({
      principal: { id: 'anonymous' },
      action: 'http:POST',
      resource: { kind: 'http', id: '/admin/users' },
      context: { ip: '192.0.2.1', host: 'app.example.com', userAgent: 'curl/8' },
    });
  });

  it('keeps the subrequest method when nginx sends no X-Original-Method, ignoring Traefik headers', () => {
    const mapped = map('DELETE', '/v1/authz/http', {
      'x-original-uri': '/admin/users/1',
      'x-forwarded-method': 'GET',
    });
    expect(mapped.action).toBe('http:DELETE');
  });

  it('reads Traefik ForwardAuth headers', () => {
    const mapped = map('GET', '/v1/authz/http', {
      'x-forwarded-method': 'PATCH',
      'x-forwarded-uri': '/account/me',
      'x-forwarded-host': 'app.example.com',
      'x-real-ip': '198.51.100.4',
    });
    expect(mapped).toMatchObject({
      action: 'http:PATCH',
      resource: { id: '/account/me' },
      context: { ip: '198.51.100.4', host: 'app.example.com' },
    });
  });

  it('takes Envoy path_prefix requests from the path alone', () => {
    const mapped = map('PUT', '/v1/authz/http/account/me?x=1', {
      'x-original-uri': '/public/spoofed',
      'x-forwarded-method': 'GET',
    });
    expect(mapped).toMatchObject({ action: 'http:PUT', resource: { id: '/account/me' } });
    expect(map('GET', '/v1/authz/http/').resource.id).toBe('/');
  });

  it('falls back to the request method on /', () => {
    expect(map('HEAD', '/v1/authz/http')).toMatchObject({
      action: 'http:HEAD',
      resource: { id: '/' },
    });
  });
});
