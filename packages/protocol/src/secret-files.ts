/** Reads a file's text; the caller's I/O (this package does none). */
export type ReadTextFile = (path: string) => string;

/**
 * Resolves `<NAME>_FILE` for each secret variable in `names`: the file's content (one trailing
 * newline removed, as `echo` and editors add one) becomes `<NAME>`, so a secret can come from a
 * mounted file instead of the environment. Called once at start-up by both apps' config.
 *
 * Returns the environment with every `<NAME>_FILE` replaced by its `<NAME>`, and one problem per
 * variable that cannot be resolved: both forms set, or the file unreadable.
 */
export function resolveSecretFiles(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
  readTextFile: ReadTextFile,
): { env: Record<string, string | undefined>; problems: string[] } {
  const resolved: Record<string, string | undefined> = { ...env };
  const problems: string[] = [];
  for (const name of names) {
    const fileName = `${name}_FILE`;
    const path = env[fileName];
    delete resolved[fileName];
    if (path === undefined || path === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name} and ${fileName} are both set: set one of them`);
      continue;
    }
    try {
      resolved[name] = readTextFile(path).replace(/\r?\n$/, '');
    } catch (error) {
      // The error code (ENOENT, EACCES) says what to fix; the message would repeat the path.
      const code = (error as { code?: unknown }).code;
      const reason = typeof code === 'string' ? code : String(error);
      problems.push(`${fileName}: cannot read ${JSON.stringify(path)} (${reason})`);
    }
  }
  return { env: resolved, problems };
}
