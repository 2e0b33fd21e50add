/** A file of a policy repository: its path relative to the repository root, and its text. */
export interface SourceFile {
  path: string;
  content: string;
}
