/**
 * Step-up helpers shared by the check, issuer-keys and admin-step-up suites: push policy files
 * to the embedded repository and wait until they are active; elevate a token's subject with
 * the real TOTP routes.
 */
import { generate } from 'otplib';
import type { ControlPlaneProcess } from '../../support/control-plane-process.js';
import {
  api,
  commit,
  embeddedRepoUrl,
  git,
  gitOk,
  waitForVersion,
  type Version,
} from './support.js';

/** A clone of the embedded repository to push policy changes from. */
export async function cloneEmbedded(cp: ControlPlaneProcess, dir: string): Promise<Version> {
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), dir]);
  return waitForVersion(cp, await gitOk(['rev-parse', 'HEAD'], dir), (v) => v.status === 'ready');
}

/** Commits and pushes `files`; resolves with the version once it is ready and active. */
export async function pushPolicies(
  cp: ControlPlaneProcess,
  dir: string,
  files: Record<string, string | null>,
  message: string,
): Promise<Version> {
  const sha = await commit(dir, files, message);
  const push = await git(['push', '--quiet', 'origin', 'main'], dir);
  if (push.status !== 0) throw new Error(`git push failed:\n${push.stderr}`);
  const version = await waitForVersion(cp, sha, (v) => v.active || v.status === 'failed');
  if (version.status !== 'ready') {
    const detail = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${version.number}`);
    throw new Error(`version ${version.number} failed: ${JSON.stringify(detail.body.errors)}`);
  }
  return version;
}

/** Enrols a TOTP factor for the token's subject and elevates once; returns the grant. */
export async function elevateWithTotp(
  cp: ControlPlaneProcess,
  token: string,
  scope: { actions?: string[]; resources?: string[] } = {},
): Promise<{ id: string; subject: string; level: string | null; amr: string[] }> {
  const enrolled = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {});
  if (enrolled.status !== 200 && enrolled.status !== 201)
    throw new Error(`TOTP enrolment: ${enrolled.status} ${JSON.stringify(enrolled.body)}`);
  const code = await generate({ secret: enrolled.body.secret as string });
  const elevated = await api(cp.url, token, 'POST', '/v1/elevation/totp', { code, ...scope });
  if (elevated.status !== 200 && elevated.status !== 201)
    throw new Error(`TOTP elevation: ${elevated.status} ${JSON.stringify(elevated.body)}`);
  return elevated.body.grant ?? elevated.body;
}

/** `stepgate.yaml` of the example repository with `extra` appended (e.g. an `issuers:` list). */
export function settingsWith(original: string, extra: string): string {
  return `${original.trimEnd()}\n${extra}\n`;
}
