import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

const VALID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * This agent's id when none is configured: `<hostname>-<random>`, generated once and kept in
 * the cache dir so the control plane sees the same agent across restarts.
 */
export async function persistentAgentId(dir: string): Promise<string> {
  const path = join(dir, 'agent-id');
  const stored = (await readFileIfExists(path, 1024))?.trim();
  if (stored !== undefined && VALID.test(stored)) return stored;
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .slice(0, 100) || 'agent';
  const id = `${host}-${randomBytes(4).toString('hex')}`;
  await writeFileAtomic(path, `${id}\n`);
  return id;
}
