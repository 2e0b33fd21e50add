import { defineConfig } from 'vitest/config';

/**
 * Workspace packages export their TypeScript source under the "@stepgate/source" condition, so
 * tests run against src/ without a prior build. Vite replaces (not extends) its default
 * conditions when these are set, hence the defaults are repeated. Vitest runs Node tests through
 * the SSR pipeline, which only honours `ssr.resolve.conditions`; `resolve.conditions` covers the
 * client pipeline (browser-like environments).
 */
const SOURCE_CONDITION = '@stepgate/source';

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
    include: ['packages/*/src/**/*.spec.ts', 'apps/*/src/**/*.spec.ts', 'test/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'tmp/**', '.nx/**'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
