/**
 * Stepgate ESLint flat config.
 *
 * - @eslint/js recommended + typescript-eslint recommended (no type-aware rules: keep lint fast)
 * - @nx/enforce-module-boundaries: scope/type tag constraints between workspace projects
 * - no-restricted-imports: packages/policy and packages/protocol are pure (no I/O, no server deps)
 * - eslint-config-prettier last: formatting is Prettier's job
 */
import js from '@eslint/js';
import nxPlugin from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createProjectGraphAsync } from 'nx/src/devkit-exports.js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Nx must never phone home or leave a daemon behind when started from lint/tests.
process.env.NX_DAEMON ??= 'false';
process.env.NX_NO_CLOUD ??= 'true';

// @nx/enforce-module-boundaries only *reads* the cached project graph (.nx/workspace-data) and
// silently skips itself when there is none (fresh clone / CI after `npm ci`) or uses a stale one
// (new project added). Compute/refresh it up front so plain `eslint .` enforces boundaries.
try {
  await createProjectGraphAsync({ exitOnError: false });
} catch (error) {
  throw new Error(
    `eslint.config.js: could not compute the Nx project graph, so module boundaries cannot be enforced: ${String(error)}`,
  );
}

/** Globals available to plain JavaScript files (scripts, bins, benches, configs) on Node 20. */
const nodeGlobals = {
  AbortController: 'readonly',
  AbortSignal: 'readonly',
  Blob: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  URLSearchParams: 'readonly',
  TextDecoder: 'readonly',
  TextEncoder: 'readonly',
  clearImmediate: 'readonly',
  clearInterval: 'readonly',
  clearTimeout: 'readonly',
  console: 'readonly',
  crypto: 'readonly',
  fetch: 'readonly',
  performance: 'readonly',
  process: 'readonly',
  queueMicrotask: 'readonly',
  setImmediate: 'readonly',
  setInterval: 'readonly',
  setTimeout: 'readonly',
  structuredClone: 'readonly',
};

const PURE_MESSAGE = 'packages/policy and packages/protocol are pure: do I/O in apps';
const SHARED_SERVER_DEPS = ['@nestjs/*', '@prisma/*', 'socket.io*', 'bullmq', 'ioredis'];
const AGENT_SERVER_DEPS = ['@prisma/*', '@nestjs/*', 'bullmq'];

export default defineConfig(
  globalIgnores([
    'apps/control-plane/src/generated/**',
    '**/node_modules/',
    '**/dist/',
    '**/coverage/',
    '.nx/',
    'bench/results/',
    'tmp/',
    '**/*.tsbuildinfo',
  ]),

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    name: 'stepgate/all',
    files: ['**/*.{js,mjs,cjs,ts,mts,cts,tsx}'],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: nodeGlobals,
    },
    plugins: {
      '@nx': nxPlugin,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          enforceBuildableLibDependency: false,
          depConstraints: [
            {
              sourceTag: 'scope:shared',
              onlyDependOnLibsWithTags: ['scope:shared'],
            },
            {
              sourceTag: 'scope:agent',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:agent'],
            },
            {
              sourceTag: 'scope:control-plane',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:control-plane'],
            },
            // The console is a browser page on the admin API: it shares wire types only.
            {
              sourceTag: 'scope:console',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:console'],
            },
            // The CLI talks to the control plane over HTTP; it never imports it.
            {
              sourceTag: 'scope:cli',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:cli'],
            },
            {
              sourceTag: 'type:package',
              onlyDependOnLibsWithTags: ['type:package'],
            },
            {
              sourceTag: 'scope:shared',
              bannedExternalImports: SHARED_SERVER_DEPS,
            },
            {
              sourceTag: 'scope:agent',
              bannedExternalImports: AGENT_SERVER_DEPS,
            },
          ],
        },
      ],
    },
  },

  // Pure language packages. Nx's bannedExternalImports only sees packages present in the lockfile,
  // so the server-side deps are banned here as well: this also holds before they are installed.
  {
    name: 'stepgate/pure-packages',
    files: ['packages/policy/**', 'packages/protocol/**', 'packages/agent-core/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'node:fs',
            'fs',
            'node:fs/promises',
            'fs/promises',
            'node:path',
            'path',
            'node:child_process',
            'child_process',
            'node:net',
            'net',
            'node:http',
            'http',
            'node:https',
            'https',
          ].map((name) => ({ name, message: PURE_MESSAGE })),
          patterns: [
            {
              group: SHARED_SERVER_DEPS,
              message:
                'scope:shared packages must not depend on server frameworks or infrastructure',
            },
          ],
        },
      ],
    },
  },

  // The agent runs on end-user machines: no ORM, no server framework, no queue. (agent-core is
  // covered, more strictly, by the pure-packages block above.)
  {
    name: 'stepgate/agent',
    files: ['apps/agent/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: AGENT_SERVER_DEPS,
              message: 'scope:agent must not depend on @prisma/*, @nestjs/* or bullmq',
            },
          ],
        },
      ],
    },
  },

  // The console runs in the browser: its globals, not Node's.
  {
    name: 'stepgate/console',
    files: ['apps/console/src/**'],
    languageOptions: { globals: globals.browser },
  },

  // Tests and workspace tooling.
  {
    name: 'stepgate/tests',
    files: ['**/*.spec.ts', '**/*.test.ts', 'test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Test fixtures may legitimately do I/O even inside pure packages.
      'no-restricted-imports': 'off',
    },
  },

  prettier,
);
