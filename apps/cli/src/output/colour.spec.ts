import { describe, expect, it } from 'vitest';
import { colourEffect, colourEnabled } from './colour.js';
import { createStyle } from './style.js';
import { formatTable } from './table.js';

describe('colourEnabled', () => {
  it('colours a terminal and not a pipe by default', () => {
    expect(colourEnabled({}, true)).toBe(true);
    expect(colourEnabled({}, false)).toBe(false);
  });

  it('turns colour off for any non-empty NO_COLOR, even with FORCE_COLOR', () => {
    for (const value of ['1', '0', 'true', 'no', 'anything']) {
      expect(colourEnabled({ NO_COLOR: value }, true), `NO_COLOR=${value}`).toBe(false);
      expect(colourEnabled({ NO_COLOR: value, FORCE_COLOR: '1' }, true)).toBe(false);
    }
    // no-color.org: an empty NO_COLOR does not count.
    expect(colourEnabled({ NO_COLOR: '' }, true)).toBe(true);
  });

  it('FORCE_COLOR 1-3 (or true, or empty) forces colour without a terminal; 0 or false turns it off', () => {
    for (const value of ['1', '2', '3', 'true', '']) {
      expect(colourEnabled({ FORCE_COLOR: value }, false), `FORCE_COLOR=${value}`).toBe(true);
    }
    for (const value of ['0', 'false']) {
      expect(colourEnabled({ FORCE_COLOR: value }, true), `FORCE_COLOR=${value}`).toBe(false);
    }
    // Anything else leaves the default.
    expect(colourEnabled({ FORCE_COLOR: 'purple' }, false)).toBe(false);
    expect(colourEnabled({ FORCE_COLOR: 'purple' }, true)).toBe(true);
  });
});

describe('effects in colour', () => {
  it('allow green, deny red, step_up yellow; plain text without colour', () => {
    const on = createStyle(true);
    expect(colourEffect(on, 'allow')).toBe('\u001b[32mallow\u001b[39m');
    expect(colourEffect(on, 'deny')).toBe('\u001b[31mdeny\u001b[39m');
    expect(colourEffect(on, 'step_up')).toBe('\u001b[33mstep_up\u001b[39m');
    expect(colourEffect(createStyle(false), 'deny')).toBe('deny');
  });

  it('a painted table column keeps the columns aligned', () => {
    const rows = [{ effect: 'allow' }, { effect: 'step_up' }];
    const style = createStyle(true);
    const table = formatTable(
      [
        { header: 'EFFECT', value: (r) => r.effect, paint: (cell) => colourEffect(style, cell) },
        { header: 'X', value: () => 'x' },
      ],
      rows,
    );
    // eslint-disable-next-line no-control-regex -- removing the escape codes is the point
    const plain = table.replace(/\u001b\[\d+m/g, '');
    expect(plain.split('\n')).toEqual(['EFFECT   X', 'allow    x', 'step_up  x']);
    expect(table).toContain('\u001b[32mallow\u001b[39m');
  });
});
