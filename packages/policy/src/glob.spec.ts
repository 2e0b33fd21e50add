import { describe, expect, it } from 'vitest';
import { globMatch, globToRegExpSource, isLiteralGlob, literalPrefix } from './glob.js';

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
});
