import { Worker } from 'node:worker_threads';
import type { CompileError, CompiledPolicySet, SourceFile } from '@stepgate/policy';
import { sha256Hex } from '@stepgate/protocol';
import type { BuildVersionJob } from './build-version.worker.js';
import type { FailedCase, VersionVerdict } from './version-verdict.js';

export type { FailedCase } from './version-verdict.js';

export interface BuiltVersion {
  status: 'ready' | 'failed';
  errors: CompileError[];
  testReport: { passed: number; failed: number; failures: FailedCase[] } | null;
  policySet: CompiledPolicySet | null;
  bundleHash: string | null;
  size: number | null;
}

export interface BuildLimits {
  maxBundleBytes: number;
  /** Wall-clock time compiling and testing one commit may take (STEPGATE_POLICY_TEST_TIMEOUT). */
  timeoutSeconds: number;
  /** Heap of the worker that does it, in MiB (STEPGATE_POLICY_TEST_MEMORY). */
  memoryMb: number;
}

/** The compiled worker entry beside this file (dist/sync/build-version.worker.js). */
const WORKER_SCRIPT = new URL('./build-version.worker.js', import.meta.url);

/**
 * Compile, test, measure: the verdict on one commit, judged in a worker thread with a time
 * and a memory limit, so that a commit whose tests are slow or memory-hungry becomes a failed
 * version with the reason while the control plane keeps answering (health checks, agents).
 * `workerScript` is for tests that run from the TypeScript sources.
 */
export async function buildVersion(
  files: SourceFile[],
  limits: BuildLimits,
  workerScript: URL | string = WORKER_SCRIPT,
): Promise<BuiltVersion> {
  const outcome = await judgeInWorker(
    { files, maxBundleBytes: limits.maxBundleBytes },
    limits,
    workerScript,
  );
  if ('problem' in outcome) return failed(outcome.problem);
  const verdict = outcome.verdict;
  return {
    status: verdict.status,
    errors: verdict.errors,
    testReport: verdict.testReport,
    policySet: verdict.policySet,
    bundleHash: verdict.serialized === null ? null : await sha256Hex(verdict.serialized),
    size: verdict.size,
  };
}

type WorkerOutcome = { verdict: VersionVerdict } | { problem: string };

function judgeInWorker(
  job: BuildVersionJob,
  limits: BuildLimits,
  workerScript: URL | string,
): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: WorkerOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // terminate() stops even a synchronous loop; the result is already in hand.
      void worker.terminate();
      resolve(outcome);
    };
    const worker = new Worker(workerScript, {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb, stackSizeMb: 4 },
      // None of the control plane's Node flags: the worker resolves packages as dist does,
      // even under a runner that adds --conditions for TypeScript sources.
      execArgv: [],
    });
    const timer = setTimeout(
      () =>
        settle({
          problem: `policy tests did not finish within ${limits.timeoutSeconds} s (compiling and testing a commit is limited by STEPGATE_POLICY_TEST_TIMEOUT); make the tests or the conditions cheaper`,
        }),
      limits.timeoutSeconds * 1000,
    );
    worker.once('message', (verdict: VersionVerdict) => settle({ verdict }));
    worker.once('error', (error: Error & { code?: string }) =>
      settle({
        problem:
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `policy tests ran out of memory (the limit is ${limits.memoryMb} MiB, STEPGATE_POLICY_TEST_MEMORY); make the data or the conditions smaller`
            : `policy tests could not run: ${error.message.split('\n')[0] ?? 'worker error'}`,
      }),
    );
    worker.once('exit', (code) =>
      settle({
        problem: `policy tests stopped before giving a verdict (worker exit code ${code})`,
      }),
    );
  });
}

function failed(message: string): BuiltVersion {
  return {
    status: 'failed',
    errors: [{ code: 'test/limit', file: '(tests)', message }],
    testReport: null,
    policySet: null,
    bundleHash: null,
    size: null,
  };
}
