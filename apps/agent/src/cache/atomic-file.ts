import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Creates the cache directory, readable by this user only. */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Writes a file so readers see the old content or the new one, never a torn write: a
 * temporary file (mode 0600) in the same directory, flushed, then renamed over the target.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await ensureDir(dirname(path));
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The file's text, or undefined when it does not exist. Refuses files above `maxBytes`. */
export async function readFileIfExists(
  path: string,
  maxBytes: number,
): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.size > maxBytes) throw new Error(`${path} is ${info.size} bytes, above ${maxBytes}`);
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
