/**
 * The embedded repository's post-receive hook (installed by ensureEmbeddedRepository):
 *
 *   node post-receive-report.js <policy path> <branch> <limits JSON>   (ref updates on stdin, GIT_DIR set)
 *
 * For a push to the tracked branch it judges the pushed commit with the same `buildVersion` the
 * sync uses (compile, policy tests, bundle size, in a worker with the control plane's time and
 * memory limits), so the pusher hears the verdict the control plane will record, and a commit
 * whose tests never finish cannot hold `git push` open. It prints the verdict on stdout, which
 * git relays to the pusher as `remote: ...` lines, including whether the commit changes the
 * policies protecting the control plane itself (compared with the active version's
 * fingerprint, which the control plane passes in STEPGATE_ACTIVE_PROTECTION): such a version is
 * not auto-activated. It only informs: the push is already accepted and the control plane
 * decides both things itself when it syncs, so this always exits 0.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatCompileError, type SourceFile } from '@stepgate/policy';
import { ACTIVE_PROTECTION_ENV, protectionChanged } from '../step-up/protection-policies.js';
import { buildVersion, type BuildLimits, type BuiltVersion } from '../sync/build-version.js';
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
  options: {
    policyPath: string;
    branch: string;
    limits: BuildLimits;
    activeProtection?: string | undefined;
  },
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
  return verdictLines(short, await buildVersion(files, options.limits), options.activeProtection);
}

/** The parts of a verdict the report reads (a BuiltVersion, or the worker's VersionVerdict). */
export type Verdict = Pick<BuiltVersion, 'status' | 'errors' | 'testReport' | 'policySet'>;

/**
 * One commit's verdict and its reasons, as lines.
 * `activeProtection`: the active version's protection fingerprint, when known.
 */
export function verdictLines(short: string, verdict: Verdict, activeProtection?: string): string[] {
  const errors = details(verdict.errors.map(formatCompileError));
  const report = verdict.testReport;
  if (report === null || (verdict.status === 'failed' && report.failed === 0)) {
    // Did not compile, ran past a limit, or compiled and passed but is over the size budget.
    const n = verdict.errors.length;
    return [`${PREFIX} ${short} REJECTED as a version: ${n} error${n === 1 ? '' : 's'}`, ...errors];
  }
  if (report.failed > 0) {
    const failures = report.failures.map((failure) => {
      const where = failure.line === undefined ? failure.file : `${failure.file}:${failure.line}`;
      return `${where} ${failure.name}: ${failure.failures.join('; ')}`;
    });
    return [
      `${PREFIX} ${short} REJECTED as a version: ${report.failed} of ${report.passed + report.failed} tests failed`,
      ...details(failures),
      ...errors,
    ];
  }
  const passed = `${PREFIX} ${short} compiles, ${report.passed} test${report.passed === 1 ? '' : 's'} passed`;
  if (
    activeProtection !== undefined &&
    verdict.policySet !== null &&
    protectionChanged(verdict.policySet, activeProtection)
  )
    return [
      `${passed} — but it changes the self-protection policies (those for stepgate:* actions),`,
      `${PREFIX}   so it is NOT activated automatically: it waits for a stepped-up activation,`,
      `${PREFIX}   which the active policies protect: stepgate activate ${short} --reason '<why>'`,
    ];
  return [`${passed} — it will be activated if auto-activate is on`];
}

function details(lines: string[]): string[] {
  const shown = lines
    .slice(0, MAX_DETAIL_LINES)
    .map((line) => `${PREFIX}   ${line.replace(/\s*\n\s*/g, ' ')}`);
  if (lines.length > MAX_DETAIL_LINES)
    shown.push(`${PREFIX}   ... and ${lines.length - MAX_DETAIL_LINES} more`);
  return shown;
}

/** The control plane's limits, as the control plane wrote them into the hook (at every start). */
export function parseLimits(text: string | undefined): BuildLimits {
  const given = JSON.parse(text ?? 'null') as Record<string, unknown> | null;
  const limit = (key: keyof BuildLimits): number => {
    const value = given?.[key];
    if (typeof value !== 'number' || !(value > 0))
      throw new Error(`the hook was installed without its ${key} limit; restart the control plane`);
    return value;
  };
  return {
    maxBundleBytes: limit('maxBundleBytes'),
    timeoutSeconds: limit('timeoutSeconds'),
    memoryMb: limit('memoryMb'),
  };
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
  const updates = parseRefUpdates(await readStdin());
  const limits = parseLimits(process.argv[4]);
  for (const update of updates) {
    try {
      lines.push(
        ...(await reportRefUpdate(gitDir, update, {
          policyPath,
          branch,
          limits,
          activeProtection,
        })),
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
