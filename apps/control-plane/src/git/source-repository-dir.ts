import { join } from 'node:path';

/**
 * Where a source's commits are on disk: the embedded repository itself, or the local cache a
 * remote source is fetched into (the sync fetches; readers of old versions only read).
 */
export function sourceRepositoryDir(
  source: { id: string; kind: string },
  embeddedDir: string,
  dataDir: string,
): string {
  return source.kind === 'embedded' ? embeddedDir : join(dataDir, 'cache', `${source.id}.git`);
}
