import { describe, expect, it } from 'vitest';
import { TargetIndex } from './target-index.js';

describe('TargetIndex', () => {
  const index = new TargetIndex([
    { actions: ['deploy'], resources: ['prod/**'], value: 'prod-deploy' },
    { actions: ['k8s:*:configmaps', 'k8s:*:secrets'], value: 'k8s-config' },
    { actions: ['k8s:create:pods/exec'], resources: ['prod/*'], value: 'exec' },
    { resources: ['prod/billing'], value: 'billing-any-action' },
    { value: 'everything' },
    { actions: ['{deploy,rollback}'], value: 'braces' },
  ]);

  it.each([
    ['deploy', 'prod/billing', ['prod-deploy', 'billing-any-action', 'everything', 'braces']],
    ['deploy', 'staging/billing', ['everything', 'braces']],
    ['rollback', 'x', ['everything', 'braces']],
    ['k8s:update:configmaps', 'prod/x', ['k8s-config', 'everything']],
    ['k8s:create:pods/exec', 'prod/web', ['exec', 'everything']],
    ['k8s:create:pods/exec', 'prod/web/x', ['everything']],
    ['k8s:update:deployments', 'prod/x', ['everything']],
  ])('%s on %s -> %j', (action, resource, expected) => {
    expect(index.match(action, resource)).toEqual(expected);
    // A second lookup is served from the memo and must agree.
    expect(index.match(action, resource)).toEqual(expected);
  });

  it('never returns a policy twice, even when several of its patterns match', () => {
    const overlapping = new TargetIndex([{ actions: ['a:*', 'a:**', 'a:b'], value: 1 }]);
    expect(overlapping.match('a:b', 'r')).toEqual([1]);
  });

  it('matches many-wildcard target globs against long request values without backtracking', () => {
    const index = new TargetIndex([
      { actions: ['**a**a**a**a**b'], resources: ['**x**x**x**x**y'], value: 'nested' },
    ]);
    const started = performance.now();
    expect(index.match('a'.repeat(20_000), 'x'.repeat(20_000))).toEqual([]);
    expect(index.match(`${'a'.repeat(5_000)}b`, `${'x'.repeat(5_000)}y`)).toEqual(['nested']);
    // A backtracking RegExp takes minutes here; the state walk takes milliseconds.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
