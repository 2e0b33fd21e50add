import type { PolicyFileLimits } from '@stepgate/policy';
import { GitSourceError } from './git-errors.js';

/**
 * Normalizes a policy path inside a repository: '.', '' and './' mean the root (returned as '').
 * Rejects absolute paths and '..' so a source can never point outside its repository.
 */
export function normalizePolicyPath(path: string): string {
  const segments = path
    .replace(/\\/g, '/')
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.');
  if (path.startsWith('/') || segments.includes('..'))
    throw new GitSourceError('git/path_not_found', `invalid policy path "${path}"`);
  return segments.join('/');
}

/** Counts bytes against the limits and throws a clear error at the first file over budget. */
export class PolicyFileBudget {
  private total = 0;

  constructor(
    private readonly limits: PolicyFileLimits,
    private readonly where: string,
  ) {}

  /** Checks before reading a file whose size is known up front. */
  charge(path: string, bytes: number): void {
    if (bytes > this.limits.maxFileBytes)
      throw new GitSourceError(
        'git/too_large',
        `${path} is ${bytes} bytes at ${this.where}; a policy file is limited to ${this.limits.maxFileBytes} bytes`,
      );
    this.total += bytes;
    if (this.total > this.limits.maxTotalBytes)
      throw new GitSourceError(
        'git/too_large',
        `the policy files at ${this.where} exceed ${this.limits.maxTotalBytes} bytes in total (reached at ${path})`,
      );
  }
}
