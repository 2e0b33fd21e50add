import { describe, expect, it } from 'vitest';
import {
  fleetBinding,
  idUnderPrefix,
  prefixConflict,
  prefixProblem,
  prefixesOverlap,
} from './fleet-prefix.js';

describe('fleet prefix rules', () => {
  it('validates the prefix and names the field', () => {
    expect(prefixProblem('node-')).toBeUndefined();
    expect(prefixProblem('')).toMatchObject({ field: 'agentIdPrefix' });
    expect(prefixProblem(undefined)).toMatchObject({ field: 'agentIdPrefix' });
    expect(prefixProblem('node /')?.message).toMatch(/agentIdPrefix must be 1-127/);
    expect(prefixProblem('a'.repeat(127))).toBeUndefined();
    expect(prefixProblem('a'.repeat(128))).toMatchObject({ field: 'agentIdPrefix' });
  });

  it('claims only longer ids under the prefix', () => {
    expect(idUnderPrefix('node-', 'node-a')).toBe(true);
    expect(idUnderPrefix('node-', 'node-')).toBe(false);
    expect(idUnderPrefix('node-', 'nodes-a')).toBe(false);
    expect(idUnderPrefix('node-', 'kubernetes-webhook')).toBe(false);
  });

  it('treats prefixes where one starts with the other as overlapping', () => {
    expect(prefixesOverlap('node-', 'node-eu-')).toBe(true);
    expect(prefixesOverlap('node-eu-', 'node-')).toBe(true);
    expect(prefixesOverlap('node-', 'node-')).toBe(true);
    expect(prefixesOverlap('node-eu-', 'node-us-')).toBe(false);
  });

  it('refuses a prefix overlapping a live prefix token or covering a bound single id', () => {
    expect(prefixConflict('node-eu-', [{ id: 't1', prefix: 'node-' }], [])).toEqual({
      with: 'prefix_token',
      tokenId: 't1',
      prefix: 'node-',
    });
    expect(prefixConflict('node-', [], [{ tokenId: 't2', agentId: 'node-a' }])).toEqual({
      with: 'bound_id',
      tokenId: 't2',
      agentId: 'node-a',
    });
    expect(
      prefixConflict('ci-', [{ id: 't1', prefix: 'node-' }], [{ tokenId: 't2', agentId: 'ci' }]),
    ).toBeUndefined();
  });

  it('binds on first connect, reconnects its own, refuses outside or held by another', () => {
    const token = { id: 'fleet', prefix: 'node-' };
    expect(fleetBinding(token, 'node-a', undefined)).toEqual({
      ok: true,
      agentId: 'node-a',
      firstConnect: true,
    });
    expect(fleetBinding(token, 'node-a', 'fleet')).toMatchObject({ ok: true, firstConnect: false });
    expect(fleetBinding(token, 'node-a', 'other')).toEqual({
      ok: false,
      why: 'id_bound',
      agentId: 'node-a',
      boundTokenId: 'other',
    });
    expect(fleetBinding(token, 'web-1', undefined)).toMatchObject({
      ok: false,
      why: 'outside_prefix',
    });
  });
});
