/**
 * Worker-thread entry of buildVersion: judges one commit off the main event loop and posts the
 * verdict back. Started by build-version.ts with a time and a memory limit.
 */
import { setFlagsFromString } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { SourceFile } from '@stepgate/policy';
import { judgeVersion } from './version-verdict.js';

export interface BuildVersionJob {
  files: SourceFile[];
  maxBundleBytes: number;
}

// A `matches` pattern such as ^(a+)+$ backtracks exponentially in V8's default engine: past
// a bound, finish it in the linear-time engine (the time limit would stop it, later).
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

const job = workerData as BuildVersionJob;
parentPort?.postMessage(judgeVersion(job.files, job.maxBundleBytes));
