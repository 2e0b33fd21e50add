/** Injection token for the PostgreSQL connection URL PrismaService connects to. */
export const DATABASE_URL = Symbol('DATABASE_URL');
