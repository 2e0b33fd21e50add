import { describe, expect, it } from 'vitest';
import {
  compileGlob,
  globMatch,
  globToRegExpSource,
  isLiteralGlob,
  literalPrefix,
} from './glob.js';

describe('glob', () => {
  it.each([
    ['prod/**', 'prod/billing', true],
    ['prod/**', 'prod/billing/api', true],
    ['prod/**', 'production/x', false],
    ['prod/*', 'prod/billing/api', false],
    ['prod-*/**', 'prod-eu/configmaps/x', true],
    ['k8s:*:configmaps', 'k8s:update:configmaps', true],
    ['k8s:*:pods/exec', 'k8s:create:pods/exec', true],
    ['k8s:**', 'k8s:create:pods/exec', true],
    ['k8s:*', 'k8s:create:pods/exec', false],
    ['http:{POST,PUT}', 'http:PUT', true],
    ['http:{POST,PUT}', 'http:GET', false],
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file/.txt', false],
    ['a.b', 'axb', false],
    ['(x)|[y]', '(x)|[y]', true],
    ['deploy', 'deploy', true],
    ['deploy', 'deploys', false],
  ])('%s ~ %s -> %s', (glob, value, expected) => {
    expect(globMatch(value, glob)).toBe(expected);
  });

  it('reports malformed braces with their offset', () => {
    expect(globToRegExpSource('a{b')).toEqual({ message: 'unclosed "{" in glob', offset: 3 });
    expect(globToRegExpSource('a}b')).toMatchObject({ offset: 1 });
    expect(globToRegExpSource('{a{b}}')).toMatchObject({
      message: expect.stringMatching(/nested/),
    });
    expect(() => globMatch('x', 'a{')).toThrow(/invalid glob/);
  });

  it('knows literal globs and literal prefixes', () => {
    expect(isLiteralGlob('deploy')).toBe(true);
    expect(isLiteralGlob('deploy:*')).toBe(false);
    expect(literalPrefix('k8s:*:pods')).toBe('k8s:');
    expect(literalPrefix('{a,b}')).toBe('');
  });

  it('matches like its RegExp translation on random globs and values', () => {
    // A seeded generator, so a failure names a reproducible case.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = (alphabet: string[], length: number) =>
      Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      const glob = pick(['a', 'b', '/', '*', '*', '?', '{', '}', ',', '.'], random(9));
      if (typeof globToRegExpSource(glob) !== 'string') continue;
      const value = pick(['a', 'b', '/', ',', '.'], random(8));
      expect([glob, value, globMatch(value, glob)]).toEqual([
        glob,
        value,
        compileGlob(glob).test(value),
      ]);
      checked++;
    }
    expect(checked).toBeGreaterThan(5_000);
  });

  it('matches like its RegExp translation past 32 tokens and with many brace groups', () => {
    // Long globs span several words of the bit-parallel automaton; six brace groups expand
    // to 64 alternatives, past what is expanded, so they are walked as states.
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = (alphabet: string[], length: number) =>
      Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
    for (let i = 0; i < 3_000; i++) {
      const glob =
        i % 3 === 0
          ? Array.from(
              { length: 6 },
              () => `{${pick(['a', 'b', '*'], 2)},${pick(['a', '?'], 1)}}`,
            ).join('')
          : `${pick(['a', 'b', '/', '?'], 30 + random(40))}*${pick(['a', 'b', '/'], random(12))}**${pick(['a', 'b', '?', '/'], random(20))}`;
      const value = pick(['a', 'b', '/'], random(90));
      expect([glob, value, globMatch(value, glob)]).toEqual([
        glob,
        value,
        compileGlob(glob).test(value),
      ]);
      // A value the glob's own literal characters make likely to match.
      const likely = glob.replace(/[{}*?,]/g, 'a');
      expect([glob, likely, globMatch(likely, glob)]).toEqual([
        glob,
        likely,
        compileGlob(glob).test(likely),
      ]);
    }
  });

  it('matches many-wildcard globs against long values in linear time (no backtracking)', () => {
    const started = performance.now();
    expect(globMatch('a'.repeat(20_000), '**a**a**a**a**a**b')).toBe(false);
    expect(globMatch(`ns/${'a'.repeat(250)}`, 'ns/*a*a*a*a*a*a*b')).toBe(false);
    expect(globMatch('a'.repeat(20_000), '{**a**a**a**,x}b')).toBe(false);
    expect(globMatch(`${'a'.repeat(20_000)}b`, '**a**a**a**a**a**b')).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
