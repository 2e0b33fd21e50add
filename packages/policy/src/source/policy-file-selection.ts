/**
 * Which files of a policy folder the compiler reads. One rule for every reader (the control
 * plane reading a commit, the CLI reading a folder on disk), so `stepgate test` and a push
 * judge the same files.
 */

/** Size limits on what one policy folder may hold. */
export interface PolicyFileLimits {
  maxFileBytes: number;
  maxTotalBytes: number;
}

/** A folder of policies is text written by people; anything larger is a mistake or abuse. */
export const DEFAULT_POLICY_FILE_LIMITS: PolicyFileLimits = {
  maxFileBytes: 4 * 1024 * 1024,
  maxTotalBytes: 16 * 1024 * 1024,
};

const POLICY_FILE = /\.(ya?ml|json)$/;

/** Whether a folder is descended into: hidden folders (.git, .github...) and node_modules are not. */
export function isPolicyFolder(name: string): boolean {
  return !name.startsWith('.') && name !== 'node_modules';
}

/**
 * Whether a regular file at `path` (relative to the policy folder, '/'-separated) is a policy
 * file: YAML or JSON, not hidden, and in no skipped folder.
 */
export function isPolicyFilePath(path: string): boolean {
  const segments = path.split('/');
  const name = segments.pop() ?? '';
  return !name.startsWith('.') && POLICY_FILE.test(name) && segments.every(isPolicyFolder);
}
