/**
 * Proves the workspace lint constraints in eslint.config.js are real: snippets are linted as if
 * they were files inside the projects (the paths need not exist on disk) and each test asserts on
 * the specific rule that must (or must not) fire.
 */
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const BOUNDARIES = '@nx/enforce-module-boundaries';
const RESTRICTED = 'no-restricted-imports';

let eslint: ESLint;

beforeAll(() => {
  // Loading eslint.config.js computes the Nx project graph the boundary rule relies on.
  eslint = new ESLint({ cwd: repoRoot });
});

async function lint(filePath: string, specifier: string): Promise<Linter.LintMessage[]> {
  const code = `import * as imported from '${specifier}';\n\nexport const used = imported;\n`;
  const [result] = await eslint.lintText(code, { filePath });
  if (!result) throw new Error(`no lint result for ${filePath}`);
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(`cannot lint ${filePath}: ${fatal[0]?.message}`);
  return result.messages;
}

function byRule(messages: Linter.LintMessage[], ruleId: string): string[] {
  return messages.filter((m) => m.ruleId === ruleId && m.severity === 2).map((m) => m.message);
}

describe('@nx/enforce-module-boundaries', () => {
  it('forbids scope:shared/type:package policy from importing the scope:cli/type:app CLI', async () => {
    // apps/cli/package.json has no "exports"/"main", so a bare '@stepgate/cli' resolves for no one
    // (tsc fails on it first); its package.json is an entry point Nx does resolve to the project.
    const messages = await lint('packages/policy/src/x.ts', '@stepgate/cli/package.json');
    // While the CLI depends on policy this is reported as a cycle (checked before tags);
    // otherwise as a tag violation. Either way it is exactly one boundary error.
    expect(byRule(messages, BOUNDARIES)).toEqual([
      expect.stringMatching(
        /^(A project tagged with "scope:shared" can only depend on libs tagged with "scope:shared"|Circular dependency between "@stepgate\/policy" and "@stepgate\/cli")/,
      ),
    ]);
  });

  it('forbids reaching into another project by relative path', async () => {
    const messages = await lint('packages/policy/src/x.ts', '../../../apps/cli/src/main.js');
    expect(byRule(messages, BOUNDARIES)).toEqual([
      expect.stringContaining('Projects cannot be imported by a relative or absolute path'),
    ]);
  });

  it('allows the CLI (scope:cli) to import @stepgate/policy (scope:shared)', async () => {
    // Guard against a vacuous pass: the rule must resolve '@stepgate/policy' to the policy project
    // (a self-import by package name from inside it is reported) ...
    const self = await lint('packages/policy/src/x.ts', '@stepgate/policy');
    expect(byRule(self, BOUNDARIES)).toEqual([
      expect.stringContaining('Projects should use relative imports'),
    ]);
    // ... and yet has nothing to say about the CLI importing it.
    const messages = await lint('apps/cli/src/x.ts', '@stepgate/policy');
    expect(byRule(messages, BOUNDARIES)).toEqual([]);
    expect(messages.filter((m) => m.severity === 2)).toEqual([]);
  });
});

describe('pure packages (packages/policy, packages/protocol)', () => {
  const ioModules = [
    'node:fs',
    'fs',
    'node:fs/promises',
    'fs/promises',
    'node:path',
    'path',
    'node:child_process',
    'child_process',
    'node:net',
    'node:http',
    'node:https',
  ];

  it.each(['packages/policy/src/x.ts', 'packages/protocol/src/x.ts'])(
    '%s may not import I/O modules',
    async (filePath) => {
      for (const specifier of ioModules) {
        const messages = await lint(filePath, specifier);
        expect(byRule(messages, RESTRICTED), specifier).toEqual([
          expect.stringContaining('packages/policy and packages/protocol are pure: do I/O in apps'),
        ]);
      }
    },
  );

  it.each([
    '@nestjs/common',
    '@prisma/client',
    'socket.io',
    'socket.io-client',
    'bullmq',
    'ioredis',
  ])('policy may not import server dependency %s', async (specifier) => {
    const messages = await lint('packages/policy/src/x.ts', specifier);
    // Nx's bannedExternalImports only sees packages in the lockfile; no-restricted-imports
    // enforces the same ban whether or not the package is installed.
    expect(byRule(messages, RESTRICTED)).toEqual([
      expect.stringContaining(`'${specifier}' import is restricted from being used by a pattern`),
    ]);
  });

  it('still lets policy import its own pure dependencies and node:crypto', async () => {
    for (const specifier of ['yaml', 'zod', 'node:crypto']) {
      const messages = await lint('packages/policy/src/x.ts', specifier);
      expect(
        messages.filter((m) => m.severity === 2),
        specifier,
      ).toEqual([]);
    }
  });

  it('relaxes the I/O ban for spec files (fixtures may be read from disk)', async () => {
    const messages = await lint('packages/policy/src/x.spec.ts', 'node:fs');
    expect(byRule(messages, RESTRICTED)).toEqual([]);
  });
});

describe('agent (apps/agent, packages/agent-core)', () => {
  it.each(['apps/agent/src/x.ts', 'packages/agent-core/src/x.ts'])(
    '%s may not import @prisma/*, @nestjs/* or bullmq',
    async (filePath) => {
      for (const specifier of ['@prisma/client', '@nestjs/core', 'bullmq']) {
        const messages = await lint(filePath, specifier);
        expect(byRule(messages, RESTRICTED), specifier).toEqual([
          expect.stringContaining(
            `'${specifier}' import is restricted from being used by a pattern`,
          ),
        ]);
      }
    },
  );

  it('apps/agent may use infrastructure clients the control plane shares (e.g. ioredis)', async () => {
    expect(byRule(await lint('apps/agent/src/x.ts', 'ioredis'), RESTRICTED)).toEqual([]);
  });

  it('packages/agent-core is pure: no file system, no network, no socket.io', async () => {
    for (const specifier of ['node:fs', 'node:http', 'socket.io-client', 'ioredis']) {
      expect(
        byRule(await lint('packages/agent-core/src/x.ts', specifier), RESTRICTED),
        specifier,
      ).toHaveLength(1);
    }
  });
});
