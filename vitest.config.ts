import { defineConfig } from 'vitest/config';

/**
 * Workspace packages export their TypeScript source under the "@stepgate/source" condition, so
 * tests run against src/ without a prior build. Vite replaces (not extends) its default
 * conditions when these are set, hence the defaults are repeated. Vitest runs Node tests through
 * the SSR pipeline, which only honours `ssr.resolve.conditions`; `resolve.conditions` covers the
 * client pipeline (browser-like environments).
 */
const SOURCE_CONDITION = '@stepgate/source';

/**
 * The test tiers, one Vitest project each (`npm run test:<name>`; `npm test` runs them all).
 * Every `*.spec.ts` belongs to exactly one tier: test/workspace/test-tiers.spec.ts fails when a
 * spec matches none (it would never run) or two (it would run twice).
 */
export const TEST_TIERS = {
  /**
   * Colocated specs, the workspace rules and the cel-spec conformance suite: no PostgreSQL, Redis
   * or server processes; 40 s with two workers, no isolation.
   */
  unit: [
    'packages/*/src/**/*.spec.ts',
    'apps/*/src/**/*.spec.ts',
    'test/workspace/**/*.spec.ts',
    'test/conformance/**/*.spec.ts',
  ],
  /** The built apps as real processes against the machine's PostgreSQL and Redis (and nginx). */
  integration: ['test/integration/**/*.spec.ts'],
  /** Whole journeys: control plane, agents and the CLI together. */
  e2e: ['test/e2e/**/*.spec.ts', 'test/cli/**/*.spec.ts'],
  /** Failure drills: outages, partitions, kills, malformed input. */
  drills: ['test/drills/**/*.spec.ts'],
  /** The console in a real Chromium against a real control plane and agent. */
  browser: ['test/browser/**/*.spec.ts'],
  /** The benchmark's own checks (peer equivalence with the real Cerbos PDP, report rendering). */
  bench: ['test/bench/**/*.spec.ts'],
};

export default defineConfig({
  resolve: {
    conditions: [SOURCE_CONDITION, 'module', 'browser', 'development|production'],
  },
  ssr: {
    resolve: {
      conditions: [SOURCE_CONDITION, 'module', 'node', 'development|production'],
    },
  },
  test: {
    exclude: ['**/node_modules/**', '**/dist/**', 'tmp/**', '.nx/**'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: Object.entries(TEST_TIERS).map(([name, include]) => ({
      extends: true,
      test: { name, include },
    })),
  },
});
