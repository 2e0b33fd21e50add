import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { SourceFile } from '@stepgate/policy';

const POLICY_FILE = /\.(ya?ml|json)$/;
const SKIPPED_DIRS = new Set(['node_modules']);
/** A repository of policies is text written by people; anything larger is a mistake. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

export class PolicyDirError extends Error {}

/**
 * Reads every YAML/JSON file below `dir` (hidden folders and node_modules skipped) as
 * repository-relative SourceFiles for the compiler.
 */
export async function readPolicyDir(dir: string): Promise<SourceFile[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new PolicyDirError(`no such directory: ${dir}`);
  if (!info.isDirectory())
    throw new PolicyDirError(`not a directory: ${dir} (give the folder that holds stepgate.yaml)`);
  const files: SourceFile[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(full);
      } else if (entry.isFile() && POLICY_FILE.test(entry.name)) {
        const size = (await stat(full)).size;
        if (size > MAX_FILE_BYTES)
          throw new PolicyDirError(
            `${full} is ${size} bytes; policy files are limited to ${MAX_FILE_BYTES}`,
          );
        files.push({
          path: relative(dir, full).split(sep).join('/'),
          content: await readFile(full, 'utf8'),
        });
      }
    }
  };
  await walk(dir);
  return files;
}
