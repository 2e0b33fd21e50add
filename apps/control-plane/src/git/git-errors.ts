/** What can go wrong while reading or fetching a policy source, as stable string codes. */
export type GitSourceErrorCode =
  'git/fetch_failed' | 'git/path_not_found' | 'git/too_large' | 'git/command_failed';

/** A one-line, credential-free error about a policy source (safe to store and show). */
export class GitSourceError extends Error {
  constructor(
    readonly code: GitSourceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GitSourceError';
  }
}
