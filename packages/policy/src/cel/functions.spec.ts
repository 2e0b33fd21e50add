import { describe, expect, it } from 'vitest';
import { globMatchAny, inCidr, timeOfDay, withinHours } from './functions.js';
import { cidrContains, parseCidr, parseIp } from './ip.js';

describe('IP addresses and CIDR ranges', () => {
  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.1.2.3', '10.0.0.0/8', false],
    ['192.168.1.77', '192.168.1.77', true],
    ['192.168.1.77', '192.168.1.64/27', true],
    ['192.168.1.96', '192.168.1.64/27', false],
    ['0.0.0.0', '0.0.0.0/0', true],
    ['2001:db8::1', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['::ffff:10.0.0.1', '10.0.0.0/8', true],
    ['fe80::1%eth0', 'fe80::/10', true],
    ['10.0.0.1', '::/0', false],
    ['not-an-ip', '10.0.0.0/8', false],
    ['256.1.1.1', '0.0.0.0/0', false],
    ['1.2.3', '0.0.0.0/0', false],
  ])('%s in %s -> %s', (ip, cidr, expected) => {
    expect(inCidr(ip, cidr)).toBe(expected);
  });

  it('accepts a list of ranges', () => {
    expect(inCidr('172.16.5.4', ['10.0.0.0/8', '172.16.0.0/12'])).toBe(true);
    expect(inCidr('172.32.0.1', ['10.0.0.0/8', '172.16.0.0/12'])).toBe(false);
    expect(inCidr('10.0.0.1', [])).toBe(false);
  });

  it('answers for the ranges a list holds, whether the list is a stable object or built anew each call', () => {
    // Short lists are cached by their text: a list built in the condition (a + b) is a new
    // object every decision. Same text, same answer; other text, never a stale set.
    const built = () => ['10.0.0.0/8'].concat(['192.0.2.0/24']);
    expect(inCidr('192.0.2.7', built())).toBe(true);
    expect(inCidr('192.0.2.7', built())).toBe(true);
    expect(inCidr('192.0.2.7', ['10.0.0.0/8'].concat(['198.51.100.0/24']))).toBe(false);
    expect(inCidr('198.51.100.9', ['10.0.0.0/8'].concat(['198.51.100.0/24']))).toBe(true);
    // A long list (a blocklist document) by object; its contents decide, not its length.
    const long = Array.from({ length: 40 }, (_, i) => `10.${i}.0.0/16`);
    expect(inCidr('10.39.1.1', long)).toBe(true);
    expect(inCidr('10.40.1.1', long)).toBe(false);
    expect(inCidr('10.40.1.1', [...long.slice(1), '10.40.0.0/16'])).toBe(true);
    expect(() => inCidr('10.0.0.1', ['10.0.0.0/8', 7 as unknown as string])).toThrow(
      /every range must be a string/,
    );
  });

  it('throws on an invalid range so the policy author hears about it', () => {
    expect(() => inCidr('10.0.0.1', '10.0.0.0/33')).toThrow(/not a CIDR/);
    expect(() => inCidr('10.0.0.1', ['10.0.0.0/8', 'garbage'])).toThrow(/garbage/);
  });

  it('refuses IPv4 parts with leading zeros, as net.isIP does (010 is octal to some parsers)', () => {
    for (const text of ['010.0.0.1', '10.00.0.1', '10.0.0.01', '::ffff:010.0.0.1', '00.0.0.0'])
      expect(parseIp(text), text).toBeUndefined();
    expect(inCidr('010.0.0.1', '10.0.0.0/8')).toBe(false);
    expect(inCidr('010.0.0.1', '8.0.0.0/8')).toBe(false);
    expect(() => inCidr('10.0.0.1', '010.0.0.0/8')).toThrow(/not a CIDR/);
    expect(parseIp('0.0.0.0')).toEqual({ version: 4, value: 0n });
    expect(parseIp('10.0.100.1')).toEqual({ version: 4, value: 0x0a006401n });
  });

  it('parses addresses exactly', () => {
    expect(parseIp('2001:db8::')).toEqual({ version: 6, value: 0x20010db8n << 96n });
    expect(parseIp('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(parseIp('1::2::3')).toBeUndefined();
    expect(parseCidr('10.9.8.7/8')).toEqual({ version: 4, network: 10n << 24n, prefix: 8 });
  });
});

describe('inCidr over a long list (a live blocklist)', () => {
  // Deterministic pseudo-random addresses and ranges of every prefix length, both versions.
  let seed = 7;
  const next = (n: number) => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
  const v4 = () => [next(256), next(256), next(256), next(256)].join('.');
  const v6 = () => `2001:db8:${next(4).toString(16)}:${next(65536).toString(16)}::${next(9)}`;
  const ranges = Array.from({ length: 600 }, (_, i) =>
    i % 2 ? `${v4()}/${16 + next(17)}` : `${v6()}/${48 + next(81)}`,
  );
  const addresses = [
    ...Array.from({ length: 1000 }, (_, i) => (i % 2 ? v4() : v6())),
    ...ranges.map((range) => range.split('/')[0] as string),
    '::ffff:10.1.2.3',
    'not an ip',
  ];

  it('answers as testing every range in turn, call after call on the same list', () => {
    const cidrs = ranges.map((range) => parseCidr(range)!);
    const expected = addresses.map((address) => {
      const ip = parseIp(address);
      return cidrs.some((cidr) => !!ip && cidrContains(cidr, ip));
    });
    expect(expected.filter(Boolean).length).toBeGreaterThan(600);
    expect(expected.filter((hit) => !hit).length).toBeGreaterThan(500);
    for (let round = 0; round < 2; round++)
      expect(addresses.map((address) => inCidr(address, ranges))).toEqual(expected);
  });

  it('refuses a list with a bad range on every call, even when an earlier range matches', () => {
    const bad = ['10.0.0.0/8', '10.0.0.0/33'];
    for (let round = 0; round < 2; round++)
      expect(() => inCidr('10.1.1.1', bad)).toThrow('"10.0.0.0/33" is not a CIDR range');
  });
});

describe('glob match function', () => {
  it('matches one pattern or any of several', () => {
    expect(globMatchAny('prod/billing', 'prod/**')).toBe(true);
    expect(globMatchAny('dev/billing', ['prod/**', 'staging/**'])).toBe(false);
    expect(globMatchAny('staging/x', ['prod/**', 'staging/**'])).toBe(true);
  });
});

describe('time of day in a time zone', () => {
  const at = new Date('2026-11-23T07:30:00Z'); // 08:30 in Berlin (CET)
  const summer = new Date('2026-07-01T06:30:00Z'); // 08:30 in Berlin (CEST)

  it('formats the wall clock in the zone', () => {
    expect(timeOfDay(at, 'Europe/Berlin')).toBe('08:30');
    expect(timeOfDay(summer, 'Europe/Berlin')).toBe('08:30');
    expect(timeOfDay(at, 'UTC')).toBe('07:30');
    expect(timeOfDay(new Date('2026-11-23T23:59:00Z'), 'UTC')).toBe('23:59');
    expect(timeOfDay(new Date('2026-11-24T00:00:00Z'), 'UTC')).toBe('00:00');
  });

  it('checks [start, end) windows, including windows across midnight', () => {
    expect(withinHours(at, '08:00', '19:00', 'Europe/Berlin')).toBe(true);
    expect(withinHours(at, '08:31', '19:00', 'Europe/Berlin')).toBe(false);
    expect(withinHours(at, '07:00', '08:30', 'Europe/Berlin')).toBe(false);
    expect(withinHours(at, '22:00', '09:00', 'Europe/Berlin')).toBe(true);
    expect(withinHours(new Date('2026-11-23T12:00:00Z'), '22:00', '06:00', 'UTC')).toBe(false);
  });

  it('rejects unknown zones and malformed times', () => {
    expect(() => timeOfDay(at, 'Mars/Olympus')).toThrow(/unknown time zone/);
    expect(() => withinHours(at, '8:00', '19:00', 'UTC')).toThrow(/HH:MM/);
    expect(() => withinHours(at, '08:00', '24:00', 'UTC')).toThrow(/HH:MM/);
  });
});
