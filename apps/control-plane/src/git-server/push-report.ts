import { formatCompileError, formatMaxChanged } from '@stepgate/policy';
import type { RefUpdate } from '../git/post-receive-report.js';
import { protectionChanged } from '../step-up/protection-policies.js';
import type { BuiltVersion } from '../sync/build-version.js';

export type { RefUpdate } from '../git/post-receive-report.js';

const PREFIX = 'stepgate:';
const MAX_DETAIL_LINES = 50;
const ZERO_SHA = /^0+$/;

/** The parts of a verdict the report reads. */
export type Verdict = Pick<BuiltVersion, 'status' | 'errors' | 'testReport' | 'policySet'>;

/**
 * What a ref update is to the tracked branch: a commit to judge, or the lines saying why not
 * (another branch, or the branch deleted).
 */
export function triageRefUpdate(update: RefUpdate, branch: string): string | string[] {
  const tracked = `refs/heads/${branch}`;
  if (!update.ref.startsWith('refs/heads/')) return [];
  if (update.ref !== tracked)
    return [`${PREFIX} ${update.ref} is not the tracked branch (${branch}); not checked`];
  if (ZERO_SHA.test(update.newSha))
    return [`${PREFIX} ${tracked} deleted; the active policy version stays active`];
  return update.newSha;
}

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
  const gate = verdict.policySet?.settings.activation;
  if (gate)
    return [
      `${passed} — it will be activated if auto-activate is on and its replay changes at most ${formatMaxChanged(gate.maxChanged)} (activation.maxChanged)`,
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
