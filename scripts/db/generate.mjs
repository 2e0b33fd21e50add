/**
 * `prisma generate` without network access: the Prisma CLI insists on a schema-engine binary it
 * would download, but generating the client never runs it, so any executable stands in for it
 * (docs/development.md, "The database without Prisma's downloaded engines"). An engine path already set in the
 * environment wins. Extra arguments go to `prisma generate`.
 *
 *   node scripts/db/generate.mjs
 *
 * Writes apps/control-plane/src/generated/prisma (not committed, not linted).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const prismaCli = require.resolve('prisma/build/index.js');
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const result = spawnSync(process.execPath, [prismaCli, 'generate', ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || '/bin/true',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
if (result.error) {
  process.stderr.write(`stepgate: cannot run prisma generate: ${result.error.message}\n`);
}
process.exit(result.status ?? 1);
