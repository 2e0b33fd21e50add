import { Inject, Injectable } from '@nestjs/common';
import type { SourceFile } from '@stepgate/policy';
import * as fs from 'node:fs';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { GitPolicyReader } from '../git/policy-repository.js';
import { buildVersion, type BuildLimits, type BuiltVersion } from './build-version.js';

/** Where a commit's policies are: the repository on disk and the folder inside it. */
export interface CommitAt {
  dir: string;
  sha: string;
  /** The source's policy folder ('.' = the repository root). */
  path: string;
}

/** Recent verdicts kept: a push is judged once for its pusher and then stored by the sync. */
const KEPT = 8;
const KEPT_MS = 10 * 60_000;

/**
 * The one verdict on a commit: its policy files read at the source's path, compiled, tested and
 * measured by buildVersion under the control plane's limits (bundle size budget included). The
 * push report and the sync both ask here, and a verdict is computed once per commit: the sync
 * stores the very verdict the pusher was shown (a recent one, or one still being computed).
 */
@Injectable()
export class CommitVerdictService {
  private readonly recent = new Map<string, { verdict: Promise<BuiltVersion>; at: number }>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  verdictOf(commit: CommitAt): Promise<BuiltVersion> {
    const key = `${commit.dir}\0${commit.sha}\0${commit.path}`;
    const now = Date.now();
    for (const [old, entry] of this.recent)
      if (now - entry.at > KEPT_MS || this.recent.size >= KEPT) this.recent.delete(old);
    const known = this.recent.get(key);
    if (known) return known.verdict;
    const verdict = this.judge(commit);
    this.recent.set(key, { verdict, at: now });
    // An unexpected failure (not a verdict) is not kept: the next caller tries again.
    verdict.catch(() => this.recent.delete(key));
    return verdict;
  }

  /** Reads the commit's policy files (Git I/O; a seam the unit test replaces). */
  protected readFiles({ dir, sha, path }: CommitAt): Promise<SourceFile[]> {
    return new GitPolicyReader({ dir, fs }).readPolicyFiles(sha, path);
  }

  /** Compiles, tests and measures them in a worker (a seam the unit test replaces). */
  protected build(files: SourceFile[], limits: BuildLimits): Promise<BuiltVersion> {
    return buildVersion(files, limits);
  }

  private async judge(commit: CommitAt): Promise<BuiltVersion> {
    const { path } = commit;
    let files;
    try {
      files = await this.readFiles(commit);
    } catch (error) {
      // An unreadable tree (over the size budget, missing path) is a failed version too.
      return {
        status: 'failed',
        errors: [{ code: 'data/invalid', file: path, message: (error as Error).message }],
        testReport: null,
        policySet: null,
        bundleHash: null,
        size: null,
      };
    }
    return this.build(files, {
      maxBundleBytes: this.config.maxBundleBytes,
      ...this.config.policyTest,
    });
  }
}
