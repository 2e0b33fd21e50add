import { describe, expect, it } from 'vitest';
import { globShape } from './glob-shape.js';

describe('globShape', () => {
  it('describes what a glob costs to match', () => {
    expect(globShape('prod/api')).toEqual({
      literal: true,
      wildcardRuns: 0,
      braceGroups: 0,
      alternatives: 1,
    });
    expect(globShape('k8s:***:{a,b,c}/{x,y}*')).toEqual({
      literal: false,
      wildcardRuns: 2,
      braceGroups: 2,
      alternatives: 6,
    });
    expect(globShape('{a,b}'.repeat(40))).toMatchObject({ alternatives: 2 ** 31 });
    expect(globShape('a{b')).toMatchObject({ message: 'unclosed "{" in glob' });
  });

  it('names what makes a glob invalid and where', () => {
    expect(globShape('k8s:{a,{b}}')).toEqual({ message: 'nested "{" in glob', offset: 7 });
    expect(globShape('a}b')).toEqual({ message: 'unmatched "}" in glob', offset: 1 });
    expect(globShape('a,b')).toMatchObject({ literal: true, alternatives: 1 });
  });
});
