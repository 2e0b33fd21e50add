import { describe, expect, it } from 'vitest';
import {
  addressProblem,
  guardedLookup,
  parseOutboundPolicy,
  PUBLIC_ONLY,
  urlHostProblem,
} from './outbound-guard.js';

const ALL_PRIVATE = parseOutboundPolicy('true');
const INTERNAL_GIT = parseOutboundPolicy('10.20.0.0/16, 127.0.0.1/32');

describe('addressProblem', () => {
  it.each([
    ['169.254.169.254', /link-local/],
    ['169.254.1.1', /link-local/],
    ['fe80::1', /link-local/],
    ['fd00:ec2::254', /AWS metadata/],
    ['0.0.0.0', /unspecified/],
    ['::', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['::ffff:169.254.169.254', /link-local/],
    ['64:ff9b::a9fe:a9fe', /link-local/],
    ['2002:a9fe:a9fe::1', /link-local/],
  ])('never allows %s, whatever is configured', (address, why) => {
    for (const policy of [PUBLIC_ONLY, ALL_PRIVATE, parseOutboundPolicy('169.254.0.0/16')])
      expect(addressProblem(address, policy)).toMatch(why);
  });

  it.each([
    ['10.1.2.3', /private \(RFC 1918\)/],
    ['172.31.255.255', /RFC 1918/],
    ['192.168.0.1', /RFC 1918/],
    ['100.64.0.1', /CGNAT/],
    ['198.18.0.1', /benchmarking/],
    ['fd12::1', /unique local/],
    ['127.0.0.1', /loopback/],
    ['127.8.9.10', /loopback/],
    ['::1', /loopback/],
    ['::ffff:10.0.0.1', /RFC 1918/],
    ['64:ff9b::a00:1', /RFC 1918/],
  ])('refuses %s unless allowed', (address, why) => {
    expect(addressProblem(address, PUBLIC_ONLY)).toMatch(why);
    expect(addressProblem(address, PUBLIC_ONLY)).toMatch(/STEPGATE_ALLOW_PRIVATE_URLS/);
    expect(addressProblem(address, ALL_PRIVATE)).toBeUndefined();
  });

  it('allows only the configured private ranges', () => {
    expect(addressProblem('10.20.3.4', INTERNAL_GIT)).toBeUndefined();
    expect(addressProblem('127.0.0.1', INTERNAL_GIT)).toBeUndefined();
    expect(addressProblem('10.21.3.4', INTERNAL_GIT)).toMatch(/RFC 1918/);
    expect(addressProblem('127.0.0.2', INTERNAL_GIT)).toMatch(/loopback/);
  });

  it('allows public addresses', () => {
    for (const address of ['140.82.112.3', '2606:4700::6810:84e5', '8.8.8.8'])
      expect(addressProblem(address, PUBLIC_ONLY)).toBeUndefined();
  });
});

describe('urlHostProblem', () => {
  it('checks literal hosts, metadata names and schemes', () => {
    expect(urlHostProblem('https://github.com/acme/policies.git', PUBLIC_ONLY)).toBeUndefined();
    expect(urlHostProblem('http://169.254.169.254/', ALL_PRIVATE)).toMatch(/link-local/);
    expect(urlHostProblem('http://[fe80::1%25eth0]/', ALL_PRIVATE)).toBeDefined();
    expect(urlHostProblem('http://METADATA.google.internal./x', ALL_PRIVATE)).toMatch(
      /cloud metadata/,
    );
    // The URL parser normalises numeric IPv4 forms before the check.
    expect(urlHostProblem('http://0x7f.1/x.git', PUBLIC_ONLY)).toMatch(/127\.0\.0\.1 is loopback/);
    expect(urlHostProblem('http://2130706433/x.git', PUBLIC_ONLY)).toMatch(/loopback/);
    expect(urlHostProblem('file:///etc/passwd', ALL_PRIVATE)).toMatch(/use http/);
    expect(urlHostProblem('not a url', ALL_PRIVATE)).toBe('not a URL');
  });
});

describe('guardedLookup', () => {
  const resolve = (host: string, policy = PUBLIC_ONLY, all = false) =>
    new Promise<unknown>((done) =>
      guardedLookup(policy)(host, { all }, (error, address) => done(error ?? address)),
    );

  it('refuses a name that resolves to a refused address, naming both', async () => {
    const refused = (await resolve('localhost')) as Error;
    expect(refused).toBeInstanceOf(Error);
    expect(refused.message).toMatch(
      /^refused: localhost resolves to (127\.0\.0\.1|::1) is loopback/,
    );
    expect(await resolve('metadata.google.internal', ALL_PRIVATE)).toMatchObject({
      message: 'refused: metadata.google.internal is a cloud metadata service',
    });
  });

  it('hands over the addresses it checked, in the form asked for', async () => {
    expect(await resolve('localhost', ALL_PRIVATE)).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(await resolve('localhost', ALL_PRIVATE, true)).toEqual(
      expect.arrayContaining([expect.objectContaining({ family: expect.any(Number) })]),
    );
  });
});

describe('parseOutboundPolicy', () => {
  it('reads true, false and CIDR lists, and names a bad entry', () => {
    expect(parseOutboundPolicy(undefined)).toEqual(PUBLIC_ONLY);
    expect(parseOutboundPolicy('false')).toEqual(PUBLIC_ONLY);
    expect(parseOutboundPolicy('true')).toEqual({ allowPrivate: true });
    expect(INTERNAL_GIT.allowPrivate).toHaveLength(2);
    expect(() => parseOutboundPolicy('10.0.0.0/8,intranet')).toThrow(
      'STEPGATE_ALLOW_PRIVATE_URLS must be true, false or comma-separated CIDRs like 10.20.0.0/16, got "intranet"',
    );
  });
});
