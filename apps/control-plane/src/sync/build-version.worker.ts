/**
 * Worker-thread entry of buildVersion: judges one commit off the main event loop and posts the
 * verdict back. Started by build-version.ts with a time and a memory limit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SourceFile } from '@stepgate/policy';
import { judgeVersion } from './version-verdict.js';

export interface BuildVersionJob {
  files: SourceFile[];
  maxBundleBytes: number;
}

const job = workerData as BuildVersionJob;
parentPort?.postMessage(judgeVersion(job.files, job.maxBundleBytes));
