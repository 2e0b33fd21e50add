import { globMatch } from '@stepgate/policy';
import { globShape } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';

/**
 * The grant-scope limits (@stepgate/protocol) read the brace rule of the glob language
 * (@stepgate/policy) again, since neither package may import the other. Here, where both are
 * imported, the two readings must accept and refuse the same globs, for the same reason.
 */
describe('glob grammar: protocol limits and policy matcher agree', () => {
  const verdicts = (glob: string) => {
    const shape = globShape(glob);
    let policy: string;
    try {
      globMatch('', glob);
      policy = 'valid';
    } catch (error) {
      policy = (error as Error).message.replace(/^invalid glob ".*": /s, '');
    }
    return { glob, protocol: 'message' in shape ? shape.message : 'valid', policy };
  };

  it.each([
    'prod/api',
    'k8s:{a,b}:*',
    '{a,b}{c,d}',
    '{}',
    '{,}',
    'a,b',
    'a{b',
    'a}b',
    '{a,{b}}',
    '{a}}',
    '}{',
    '**{x,**}?',
  ])('%s', (glob) => {
    const { protocol, policy } = verdicts(glob);
    expect(protocol).toBe(policy);
  });

  it('on random globs over the syntax characters', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const alphabet = ['a', '/', '*', '?', '{', '}', ','];
    for (let i = 0; i < 5000; i++) {
      const glob = Array.from({ length: next() % 10 }, () => alphabet[next() % 7]).join('');
      const { protocol, policy } = verdicts(glob);
      expect({ glob, protocol }).toEqual({ glob, protocol: policy });
    }
  });
});
