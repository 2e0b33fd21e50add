import { describe, expect, it } from 'vitest';
import { newDecisionId } from './decision-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newDecisionId', () => {
  it('returns version 4 UUIDs, all distinct, across several refills of its random pool', () => {
    const ids = Array.from({ length: 9_000 }, () => newDecisionId()); // a pool holds 4,096
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('spreads its random bits: every hex digit appears at every random position', () => {
    const ids = Array.from({ length: 4_000 }, () => newDecisionId());
    const random = [...Array(36).keys()].filter((i) => ![8, 13, 14, 18, 23].includes(i));
    for (const position of random) {
      const digits = new Set(ids.map((id) => id[position]));
      // The variant digit (19) has 4 values; the others 16.
      expect(digits.size, `position ${position}`).toBe(position === 19 ? 4 : 16);
    }
  });
});
