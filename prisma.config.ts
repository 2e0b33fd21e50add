import { defineConfig } from 'prisma/config';

/**
 * For the Prisma CLI only (`prisma generate`, and `prisma migrate deploy|status|resolve` where the
 * schema engine binary can be downloaded). The app and scripts/db never read this file.
 *
 * The URL falls back to the local default instead of using `env('DATABASE_URL')`, which throws
 * when the variable is unset and would break `prisma generate` on a machine without one.
 */
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/stepgate',
  },
});
