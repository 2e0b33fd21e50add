import { Inject, Injectable } from '@nestjs/common';
import { StepgateError, type VersionDiffFile, type VersionDiffResponse } from '@stepgate/protocol';
import * as fs from 'node:fs';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { EmbeddedRepositoryService } from '../git/embedded-repository.service.js';
import { CommitMissingError, folderChanges, type FolderAt } from '../git/folder-changes.js';
import { sourceRepositoryDir } from '../git/source-repository-dir.js';
import type { PolicyVersion } from '../generated/prisma/client.js';
import { SourcesRepository } from '../sources/sources.repository.js';
import { filePatch } from './file-patch.js';
import { VersionsRepository } from './versions.repository.js';
import { VersionsService } from './versions.service.js';

/**
 * Patch text one answer carries at most: past it, the remaining files are listed with
 * `truncated: true` and no patch, so a diff of a rewritten folder cannot exhaust memory.
 */
const MAX_ANSWER_PATCH_BYTES = 4 * 1024 * 1024;

/** File diffs between two versions: their commits' policy folders, read from the source's repository. */
@Injectable()
export class VersionDiffService {
  constructor(
    private readonly versions: VersionsService,
    private readonly repository: VersionsRepository,
    private readonly sources: SourcesRepository,
    private readonly embedded: EmbeddedRepositoryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `ref` against `against`, by default the version numbered before it (none: an empty tree). */
  async diff(ref: string, against?: string): Promise<VersionDiffResponse> {
    const to = await this.versions.resolve(ref);
    const from =
      against === undefined
        ? await this.repository.before(to.number)
        : await this.versions.resolve(against);
    const { files: changes, capped } = await this.changes(from, to);

    const files: VersionDiffFile[] = [];
    let budget = MAX_ANSWER_PATCH_BYTES;
    for (const change of changes) {
      if (budget <= 0) {
        files.push({ path: change.path, status: statusOf(change), patch: '', truncated: true });
        continue;
      }
      const file = filePatch(change.path, await change.before?.(), await change.after?.());
      budget -= Buffer.byteLength(file.patch);
      files.push(file);
    }
    return {
      from: from ? { number: from.number, sha: from.sha } : null,
      to: { number: to.number, sha: to.sha },
      files,
      ...(capped ? { truncated: true as const } : {}),
    };
  }

  private async changes(from: PolicyVersion | null, to: PolicyVersion) {
    const [before, after] = await Promise.all([
      from ? this.folderOf(from) : null,
      this.folderOf(to),
    ]);
    try {
      return await folderChanges(fs, before, after);
    } catch (error) {
      if (!(error instanceof CommitMissingError)) throw error;
      const version = error.sha === to.sha ? to : from;
      throw new StepgateError(
        'version/not_found',
        `the commit ${error.sha.slice(0, 7)} of version ${version?.number} is no longer in its source's repository; sync the source again to fetch it`,
      );
    }
  }

  private async folderOf(version: PolicyVersion): Promise<FolderAt> {
    const source = await this.sources.byId(version.sourceId);
    // Versions restrict their source's deletion, so it exists.
    if (!source)
      throw new StepgateError('source/not_found', `no policy source ${version.sourceId}`);
    return {
      dir: sourceRepositoryDir(source, this.embedded.dir, this.config.dataDir),
      sha: version.sha,
      path: source.path,
    };
  }
}

function statusOf(change: { before?: unknown; after?: unknown }): VersionDiffFile['status'] {
  return change.before === undefined
    ? 'added'
    : change.after === undefined
      ? 'removed'
      : 'modified';
}
