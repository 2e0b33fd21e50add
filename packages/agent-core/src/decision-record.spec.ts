import { describe, expect, it } from 'vitest';
import { decisionRecordSchema } from '@stepgate/protocol';
import { applyMask, compileMask, toDecisionRecord } from './decision-record.js';

describe('applyMask', () => {
  it('removes fields under a shared prefix from one copy, leaving the input intact', () => {
    const input = {
      principal: { id: 'p', attributes: { email: 'e', team: 't' } },
      context: { ip: '10.0.0.1', geo: { country: 'DE', city: 'Berlin' }, keep: 1 },
    };
    const snapshot = structuredClone(input);
    const mask = compileMask(['context.ip', 'context.geo.city', 'principal.attributes.email']);
    const masked = applyMask(input, mask.paths);
    expect(masked).toEqual({
      principal: { id: 'p', attributes: { team: 't' } },
      context: { geo: { country: 'DE' }, keep: 1 },
    });
    expect(input).toEqual(snapshot);
  });

  it('ignores paths through absent or non-object values, and shares the input when nothing is masked', () => {
    const input = { context: { ip: ['a'], geo: 'DE' } };
    expect(
      applyMask(input, compileMask(['context.geo.city', 'principal.attributes.x']).paths),
    ).toEqual(input);
    expect(applyMask(input, [])).toBe(input);
  });

  it('flags the record fields a mask covers', () => {
    expect(compileMask(['principal.id', 'resource.kind'])).toMatchObject({
      principalId: true,
      resourceKind: true,
      resourceId: false,
    });
  });
});

describe('toDecisionRecord', () => {
  it('keeps records inside the wire limits', () => {
    const record = toDecisionRecord({
      decision: {
        effect: 'deny',
        reasons: Array.from({ length: 250 }, (_, i) => ({
          policy: 'p',
          rule: `r${i}`,
          effect: 'deny' as const,
          message: 'm',
        })),
        errors: [{ policy: 'p', rule: 'r', message: 'boom' }],
        revision: 1,
        decisionId: 'x'.repeat(100),
        durationNs: 12.7,
      },
      at: 0,
      principal: 'p'.repeat(600),
      action: 'a',
      resourceKind: 'k',
      resourceId: 'i'.repeat(3000),
    });
    expect(decisionRecordSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({ errors: 1, durationNs: 13 });
    expect(record.reasons).toHaveLength(200);
    expect(record.principal).toHaveLength(512);
  });
});
