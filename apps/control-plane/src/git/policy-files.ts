import { GitSourceError } from './git-errors.js';

/** Size limits on what one commit of a policy repository may hold. */
export interface PolicyFileLimits {
  maxFileBytes: number;
  maxTotalBytes: number;
}

/** A repository of policies is text written by people; anything larger is a mistake or abuse. */
export const DEFAULT_POLICY_FILE_LIMITS: PolicyFileLimits = {
  maxFileBytes: 4 * 1024 * 1024,
  maxTotalBytes: 16 * 1024 * 1024,
};

const POLICY_FILE = /\.(ya?ml|json)$/;

/** Folder entries never descended into: hidden folders (.git, .github...) and node_modules. */
export function isSkippedEntry(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

/** Whether a file name is one the policy compiler reads (YAML or JSON). */
export function isPolicyFileName(name: string): boolean {
  return !name.startsWith('.') && POLICY_FILE.test(name);
}

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
