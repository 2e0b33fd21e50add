import type { SourceFile } from '@stepgate/policy';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../config/configuration.js';
import type { BuildLimits, BuiltVersion } from './build-version.js';
import {
  CommitVerdictService as RealCommitVerdictService,
  type CommitAt,
} from './commit-verdict.service.js';

const buildVersion = vi.fn<(files: SourceFile[], limits: BuildLimits) => Promise<BuiltVersion>>();
const readPolicyFiles = vi.fn<(sha: string, path: string) => Promise<SourceFile[]>>();

/** The service with its Git read and worker build replaced (its two I/O seams). */
class CommitVerdictService extends RealCommitVerdictService {
  protected override readFiles({ sha, path }: CommitAt): Promise<SourceFile[]> {
    return readPolicyFiles(sha, path);
  }

  protected override build(files: SourceFile[], limits: BuildLimits): Promise<BuiltVersion> {
    return buildVersion(files, limits);
  }
}

const CONFIG = { maxBundleBytes: 1000, policyTest: { timeoutSeconds: 2, memoryMb: 64 } };
const READY: BuiltVersion = {
  status: 'ready',
  errors: [],
  testReport: { passed: 1, failed: 0, failures: [] },
  policySet: null,
  bundleHash: 'h',
  size: 10,
};
const commit = { dir: '/repo.git', sha: 'a'.repeat(40), path: '.' };

describe('CommitVerdictService', () => {
  beforeEach(() => {
    buildVersion.mockReset().mockResolvedValue(READY);
    readPolicyFiles
      .mockReset()
      .mockResolvedValue([{ path: 'x.yaml', content: '' }] as SourceFile[]);
  });

  it('judges a commit once: the push report and the sync get the same verdict', async () => {
    const verdicts = new CommitVerdictService(CONFIG as AppConfig);
    const [shown, stored] = await Promise.all([
      verdicts.verdictOf(commit),
      verdicts.verdictOf(commit),
    ]);
    const later = await verdicts.verdictOf({ ...commit });
    expect(stored).toBe(shown);
    expect(later).toBe(shown);
    expect(buildVersion).toHaveBeenCalledTimes(1);
    // Under the control plane's limits, the bundle size budget included.
    expect(buildVersion).toHaveBeenCalledWith(expect.any(Array), {
      maxBundleBytes: 1000,
      timeoutSeconds: 2,
      memoryMb: 64,
    });
  });

  it('judges another commit, or the same commit at another path, on its own', async () => {
    const verdicts = new CommitVerdictService(CONFIG as AppConfig);
    await verdicts.verdictOf(commit);
    await verdicts.verdictOf({ ...commit, sha: 'b'.repeat(40) });
    await verdicts.verdictOf({ ...commit, path: 'policies' });
    expect(buildVersion).toHaveBeenCalledTimes(3);
  });

  it('makes an unreadable tree a failed verdict with the reason', async () => {
    readPolicyFiles.mockRejectedValue(new Error('no folder "nope" at aaaaaaa:nope'));
    const verdicts = new CommitVerdictService(CONFIG as AppConfig);
    expect(await verdicts.verdictOf({ ...commit, path: 'nope' })).toMatchObject({
      status: 'failed',
      errors: [{ code: 'data/invalid', file: 'nope', message: 'no folder "nope" at aaaaaaa:nope' }],
      policySet: null,
    });
    expect(buildVersion).not.toHaveBeenCalled();
  });
});
