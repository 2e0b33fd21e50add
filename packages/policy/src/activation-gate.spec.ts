import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, policy, SETTINGS } from './__support__/policy-fixture.js';
import { parsePolicySet } from './bundle/policy-set.js';
import { exceedsMaxChanged, formatMaxChanged, parseMaxChanged } from './activation-gate.js';

describe('activation gate arithmetic', () => {
  it('parses a share and a count', () => {
    expect(parseMaxChanged('1%')).toEqual({ percent: 1 });
    expect(parseMaxChanged('0.5%')).toEqual({ percent: 0.5 });
    expect(parseMaxChanged(20)).toEqual({ count: 20 });
    expect(formatMaxChanged({ percent: 1.5 })).toBe('1.5%');
    expect(formatMaxChanged({ count: 3 })).toBe('3');
  });

  it('holds strictly above a share, exactly at its boundary', () => {
    const tenPercent = parseMaxChanged('10%');
    expect(exceedsMaxChanged(tenPercent, 10, 100)).toBe(false);
    expect(exceedsMaxChanged(tenPercent, 11, 100)).toBe(true);
    expect(exceedsMaxChanged(tenPercent, 1, 11)).toBe(false);
    expect(exceedsMaxChanged(tenPercent, 2, 11)).toBe(true);
    // 0.1% of 1,000 is exactly 1 (no floating-point 0.999...).
    expect(exceedsMaxChanged(parseMaxChanged('0.1%'), 1, 1000)).toBe(false);
    expect(exceedsMaxChanged(parseMaxChanged('0.1%'), 2, 1000)).toBe(true);
    expect(exceedsMaxChanged(parseMaxChanged('0%'), 1, 1_000_000)).toBe(true);
    expect(exceedsMaxChanged(parseMaxChanged('100%'), 5, 5)).toBe(false);
  });

  it('compares a count with the changed decisions, whatever the total', () => {
    expect(exceedsMaxChanged({ count: 3 }, 3, 4)).toBe(false);
    expect(exceedsMaxChanged({ count: 3 }, 4, 1_000_000)).toBe(true);
    expect(exceedsMaxChanged({ count: 0 }, 1, 1)).toBe(true);
  });

  it('never holds an empty replay on a share', () => {
    expect(exceedsMaxChanged(parseMaxChanged('1%'), 0, 0)).toBe(false);
  });
});

describe('compile: activation in stepgate.yaml', () => {
  const allow = policy('p', '  - name: allow\n    effect: allow\n');
  const withGate = (value: string) => ({
    'stepgate.yaml': `${SETTINGS}activation:\n  maxChanged: ${value}\n`,
    'p.yaml': allow,
  });

  it('compiles a share and a count, and nothing when absent', () => {
    expect(compileOk(withGate('"1%"')).settings.activation).toEqual({ maxChanged: { percent: 1 } });
    expect(compileOk(withGate('25')).settings.activation).toEqual({ maxChanged: { count: 25 } });
    expect(compileOk({ 'stepgate.yaml': SETTINGS, 'p.yaml': allow }).settings.activation).toBe(
      undefined,
    );
  });

  it('survives the stored form: a compiled set with a gate reloads (agents and the control plane read it)', () => {
    const set = compileOk(withGate('"10%"'));
    expect(parsePolicySet(structuredClone(set)).settings.activation).toEqual({
      maxChanged: { percent: 10 },
    });
  });

  it('refuses a share over 100%, a negative count and a bare word', () => {
    for (const bad of ['"150%"', '-1', 'lots', '"1.5"'])
      expect(compileErrors(withGate(bad)).length, bad).toBeGreaterThan(0);
  });
});
