import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_POLICY_FILE_LIMITS,
  isPolicyFilePath,
  isPolicyFolder,
  type SourceFile,
} from '@stepgate/policy';

export class PolicyDirError extends Error {}

/**
 * Reads the policy files below `dir` (the selection and size limits the control plane applies to
 * a pushed commit) as folder-relative SourceFiles for the compiler, sorted by path.
 */
export async function readPolicyDir(dir: string): Promise<SourceFile[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new PolicyDirError(`no such directory: ${dir}`);
  if (!info.isDirectory())
    throw new PolicyDirError(`not a directory: ${dir} (give the folder that holds stepgate.yaml)`);
  const { maxFileBytes, maxTotalBytes } = DEFAULT_POLICY_FILE_LIMITS;
  const files: SourceFile[] = [];
  let total = 0;
  const walk = async (prefix: string): Promise<void> => {
    const entries = await readdir(join(dir, prefix), { withFileTypes: true });
    for (const entry of entries) {
      const path = prefix + entry.name;
      const full = join(dir, path);
      if (entry.isDirectory()) {
        if (isPolicyFolder(entry.name)) await walk(`${path}/`);
      } else if (entry.isFile() && isPolicyFilePath(path)) {
        const size = (await stat(full)).size;
        if (size > maxFileBytes)
          throw new PolicyDirError(
            `${full} is ${size} bytes; policy files are limited to ${maxFileBytes}`,
          );
        total += size;
        if (total > maxTotalBytes)
          throw new PolicyDirError(
            `the policy files in ${dir} exceed ${maxTotalBytes} bytes in total (reached at ${path})`,
          );
        files.push({ path, content: await readFile(full, 'utf8') });
      }
    }
  };
  await walk('');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
