/**
 * The embedded repository's post-receive hook (installed by ensureEmbeddedRepository):
 *
 *   node post-receive-report.js <policy path> <branch>   (ref updates on stdin, GIT_DIR set)
 *
 * For a push to the tracked branch it compiles the pushed commit and runs its policy tests, and
 * prints the verdict on stdout, which git relays to the pusher as `remote: ...` lines, including
 * whether the commit changes the policies protecting the control plane itself (compared with the
 * active version's fingerprint, which the control plane passes in STEPGATE_ACTIVE_PROTECTION):
 * such a version is not auto-activated. It only informs: the push is already accepted and the
 * control plane decides both things itself when it syncs, so this always exits 0.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  compile,
  formatCompileError,
  PolicyEngine,
  runTestSuites,
  type SourceFile,
} from '@stepgate/policy';
import { ACTIVE_PROTECTION_ENV, protectionChanged } from '../step-up/protection-policies.js';
import { GitSourceError } from './git-errors.js';
import { readPolicyFilesWithGit } from './git-tree-files.js';

export interface RefUpdate {
  oldSha: string;
  newSha: string;
  ref: string;
}

const PREFIX = 'stepgate:';
const MAX_DETAIL_LINES = 50;
const ZERO_SHA = /^0+$/;

/** Parses post-receive's stdin: one `<old> <new> <ref>` line per updated ref. */
export function parseRefUpdates(input: string): RefUpdate[] {
  return input
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts): parts is [string, string, string] => parts.length === 3)
    .map(([oldSha, newSha, ref]) => ({ oldSha, newSha, ref }));
}

/** The lines reporting one ref update, each starting with `stepgate:`. */
export async function reportRefUpdate(
  gitDir: string,
  update: RefUpdate,
  options: { policyPath: string; branch: string; activeProtection?: string | undefined },
): Promise<string[]> {
  if (!update.ref.startsWith('refs/heads/')) return [];
  const tracked = `refs/heads/${options.branch}`;
  if (update.ref !== tracked)
    return [`${PREFIX} ${update.ref} is not the tracked branch (${options.branch}); not checked`];
  if (ZERO_SHA.test(update.newSha))
    return [`${PREFIX} ${tracked} deleted; the active policy version stays active`];
  const short = update.newSha.slice(0, 7);
  let files: SourceFile[];
  try {
    files = await readPolicyFilesWithGit(gitDir, update.newSha, options.policyPath);
  } catch (error) {
    if (error instanceof GitSourceError)
      return [`${PREFIX} ${short} REJECTED as a version: ${error.message}`];
    throw error;
  }
  return checkPolicyFiles(short, files, options.activeProtection);
}

/**
 * Compiles and tests one commit's policy files; the verdict and the reasons, as lines.
 * `activeProtection`: the active version's protection fingerprint, when known.
 */
export function checkPolicyFiles(
  short: string,
  files: SourceFile[],
  activeProtection?: string,
): string[] {
  const compiled = compile(files);
  if (!compiled.ok) {
    const n = compiled.errors.length;
    return [
      `${PREFIX} ${short} REJECTED as a version: ${n} error${n === 1 ? '' : 's'}`,
      ...details(compiled.errors.map(formatCompileError)),
    ];
  }
  const report = runTestSuites(new PolicyEngine(compiled.policySet), compiled.testSuites);
  const passed = `${PREFIX} ${short} compiles, ${report.passed} test${report.passed === 1 ? '' : 's'} passed`;
  if (report.failed === 0) {
    if (activeProtection !== undefined && protectionChanged(compiled.policySet, activeProtection))
      return [
        `${passed} — but it changes the self-protection policies (those for stepgate:* actions),`,
        `${PREFIX}   so it is NOT activated automatically: it waits for a stepped-up activation,`,
        `${PREFIX}   which the active policies protect: stepgate activate ${short} --reason '<why>'`,
      ];
    return [`${passed} — it will be activated if auto-activate is on`];
  }
  const failures = report.suites.flatMap((suite) =>
    suite.cases
      .filter((testCase) => !testCase.passed)
      .map((testCase) => {
        const where = testCase.line === undefined ? suite.file : `${suite.file}:${testCase.line}`;
        return `${where} ${testCase.name}: ${testCase.failures.join('; ')}`;
      }),
  );
  return [
    `${PREFIX} ${short} REJECTED as a version: ${report.failed} of ${report.passed + report.failed} tests failed`,
    ...details(failures),
  ];
}

function details(lines: string[]): string[] {
  const shown = lines
    .slice(0, MAX_DETAIL_LINES)
    .map((line) => `${PREFIX}   ${line.replace(/\s*\n\s*/g, ' ')}`);
  if (lines.length > MAX_DETAIL_LINES)
    shown.push(`${PREFIX}   ... and ${lines.length - MAX_DETAIL_LINES} more`);
  return shown;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const policyPath = process.argv[2] ?? '.';
  const branch = process.argv[3] ?? 'main';
  const activeProtection = process.env[ACTIVE_PROTECTION_ENV] || undefined;
  // Git runs hooks with GIT_DIR set (to "." in a bare repository, relative to the cwd).
  const gitDir = resolve(process.env.GIT_DIR ?? '.');
  const lines: string[] = [];
  for (const update of parseRefUpdates(await readStdin())) {
    try {
      lines.push(
        ...(await reportRefUpdate(gitDir, update, { policyPath, branch, activeProtection })),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      lines.push(`${PREFIX} could not check ${update.newSha.slice(0, 7)}: ${message}`);
    }
  }
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href) {
  main()
    .catch((error: unknown) => {
      process.stdout.write(`${PREFIX} the policy check failed: ${String(error)}\n`);
    })
    .finally(() => {
      process.exitCode = 0;
    });
}
