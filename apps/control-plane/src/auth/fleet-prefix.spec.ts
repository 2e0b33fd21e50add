import { describe, expect, it } from 'vitest';
import { fleetClaim, idUnderPrefix, overlappingPrefix, prefixesOverlap } from './fleet-prefix.js';

const fleet = { id: 'fleet', prefix: 'node-' };
const free = { single: null, fleet: null };

describe('fleet prefix rules', () => {
  it('admits only longer ids under the prefix', () => {
    expect(idUnderPrefix('node-', 'node-a')).toBe(true);
    expect(idUnderPrefix('node-', 'node-')).toBe(false);
    expect(idUnderPrefix('node-', 'nodes-a')).toBe(false);
    expect(idUnderPrefix('node-', 'Node-a')).toBe(false);
    expect(idUnderPrefix('node-', 'other-x')).toBe(false);
  });

  it('treats prefixes where one starts with the other as overlapping', () => {
    expect(prefixesOverlap('node-', 'node-eu-')).toBe(true);
    expect(prefixesOverlap('node-eu-', 'node-')).toBe(true);
    expect(prefixesOverlap('node-', 'node-')).toBe(true);
    expect(prefixesOverlap('node-eu-', 'node-us-')).toBe(false);
    expect(
      overlappingPrefix('node-eu-', [
        { id: 't1', prefix: 'ci-' },
        { id: 't2', prefix: 'node-' },
      ]),
    ).toEqual({ id: 't2', prefix: 'node-' });
    expect(overlappingPrefix('web-', [{ id: 't1', prefix: 'ci-' }])).toBeUndefined();
  });

  it('binds a free id on first connect and reconnects an id it holds', () => {
    expect(fleetClaim(fleet, 'node-a', free)).toEqual({
      ok: true,
      agentId: 'node-a',
      firstConnect: true,
    });
    expect(
      fleetClaim(fleet, 'node-a', { single: null, fleet: { tokenId: 'fleet', revoked: false } }),
    ).toEqual({ ok: true, agentId: 'node-a', firstConnect: false });
  });

  it('refuses an id outside the prefix whoever holds it', () => {
    expect(fleetClaim(fleet, 'other-x', free)).toEqual({
      ok: false,
      why: 'outside_prefix',
      agentId: 'other-x',
      prefix: 'node-',
    });
  });

  it('never takes an id another live token holds, single-agent or fleet', () => {
    for (const holders of [
      { single: { tokenId: 'single', revoked: false }, fleet: null },
      { single: null, fleet: { tokenId: 'single', revoked: false } },
    ])
      expect(fleetClaim(fleet, 'node-a', holders)).toEqual({
        ok: false,
        why: 'id_bound',
        agentId: 'node-a',
        boundTokenId: 'single',
      });
  });

  it('takes an id over from a revoked token, naming it', () => {
    expect(
      fleetClaim(fleet, 'node-a', { single: { tokenId: 'old', revoked: true }, fleet: null }),
    ).toEqual({ ok: true, agentId: 'node-a', firstConnect: true, releasedFrom: 'old' });
    expect(
      fleetClaim(fleet, 'node-a', { single: null, fleet: { tokenId: 'old-fleet', revoked: true } }),
    ).toEqual({ ok: true, agentId: 'node-a', firstConnect: true, releasedFrom: 'old-fleet' });
  });
});
