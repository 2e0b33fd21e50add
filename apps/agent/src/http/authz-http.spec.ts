import type { IncomingMessage } from 'node:http';
import { parseCidr, type Cidr } from '@stepgate/policy';
import { describe, expect, it } from 'vitest';
import { anonymousIdentity, proxiedRequest } from './authz-http.js';
import { errorStatus, StepgateError } from '@stepgate/protocol';

/** The proxy in these tests: nginx on the same host, trusted. */
const LOOPBACK = [parseCidr('127.0.0.1/32') as Cidr];

function map(
  method: string,
  url: string,
  headers: Record<string, string | string[]> = {},
  peer = '127.0.0.1',
  trusted: Cidr[] = LOOPBACK,
) {
  const req = {
    method,
    url,
    headers,
    socket: { remoteAddress: peer },
  } as unknown as IncomingMessage;
  const cut = url.indexOf('?');
  return proxiedRequest(
    req,
    cut >= 0 ? url.slice(0, cut) : url,
    cut >= 0 ? url.slice(cut) : '',
    anonymousIdentity(),
    trusted,
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

  it('takes context.ip from the TCP peer unless the peer is a trusted proxy', () => {
    const spoofed = {
      'x-forwarded-for': '10.9.9.9',
      'x-real-ip': '10.9.9.9',
      forwarded: 'for=10.9.9.9',
    };
    // No trusted proxies (the default): every forwarding header is the client's own word.
    expect(map('GET', '/v1/authz/http', spoofed, '203.0.113.7', []).context).toMatchObject({
      ip: '203.0.113.7',
    });
    // A peer outside the trusted ranges: the same.
    expect(map('GET', '/v1/authz/http', spoofed, '203.0.113.7').context?.ip).toBe('203.0.113.7');
    // A dual-stack socket's IPv4-mapped form is plain IPv4.
    expect(map('GET', '/v1/authz/http', {}, '::ffff:192.0.2.5', []).context?.ip).toBe('192.0.2.5');
  });

  it('behind a trusted proxy, takes the right-most untrusted X-Forwarded-For entry', () => {
    const trusted = [parseCidr('127.0.0.1/32') as Cidr, parseCidr('10.0.0.0/8') as Cidr];
    const ip = (headers: Record<string, string | string[]>) =>
      map('GET', '/v1/authz/http', headers, '127.0.0.1', trusted).context?.ip;
    // The client wrote 10.9.9.9 and 1.2.3.4; the proxies appended 198.51.100.7 and 10.0.0.2.
    expect(ip({ 'x-forwarded-for': '10.9.9.9, 1.2.3.4, 198.51.100.7, 10.0.0.2' })).toBe(
      '198.51.100.7',
    );
    // A repeated header counts as one list, in order.
    expect(ip({ 'x-forwarded-for': ['10.9.9.9', '198.51.100.7'] })).toBe('198.51.100.7');
    // Every hop trusted: the furthest.
    expect(ip({ 'x-forwarded-for': '10.0.0.9, 10.0.0.2' })).toBe('10.0.0.9');
    // Ports and brackets are dropped; a hop that is no address leaves context.ip unset.
    expect(ip({ 'x-forwarded-for': '198.51.100.7:4711' })).toBe('198.51.100.7');
    expect(ip({ 'x-forwarded-for': '[2001:db8::1]:4711' })).toBe('2001:db8::1');
    expect(ip({ 'x-forwarded-for': '198.51.100.7, unknown' })).toBeUndefined();
    // Without X-Forwarded-For: Forwarded (RFC 7239), then X-Real-IP, then the peer.
    expect(ip({ forwarded: 'for=10.9.9.9, for="[2001:db8::17]:4711";proto=https' })).toBe(
      '2001:db8::17',
    );
    expect(ip({ forwarded: 'for=_hidden' })).toBeUndefined();
    expect(ip({ 'x-real-ip': '198.51.100.4' })).toBe('198.51.100.4');
    expect(ip({})).toBe('127.0.0.1');
  });

  it('refuses a path past the resource.id limit: 431 from a header, 414 from the request line', () => {
    const status = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error instanceof StepgateError ? errorStatus(error) : -1;
      }
      return 200;
    };
    const long = `/${'a'.repeat(5000)}`;
    expect(status(() => map('GET', '/v1/authz/http', { 'x-original-uri': long }))).toBe(431);
    expect(status(() => map('GET', '/v1/authz/http', { 'x-forwarded-uri': long }))).toBe(431);
    expect(status(() => map('GET', `/v1/authz/http${long}`))).toBe(414);
    expect(status(() => map('GET', '/v1/authz/http', { 'user-agent': 'x'.repeat(70_000) }))).toBe(
      431,
    );
    expect(status(() => map('GET', `/v1/authz/http/${'a'.repeat(4000)}`))).toBe(200);
  });
});
