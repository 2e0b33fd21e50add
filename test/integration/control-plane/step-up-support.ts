/**
 * Step-up helpers shared by the check, issuer-keys, admin-step-up and self-protection suites:
 * push policy files to the embedded repository and wait until they are active; enrol a first
 * TOTP factor with an admin's enrolment code and elevate with the real TOTP routes; the set-up
 * of the enrolment and elevation suites (a control plane with a connection to its database, a
 * token per person, the audit trail of one person).
 */
import { generate } from 'otplib';
import pg from 'pg';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  api,
  ensureControlPlaneBuilt,
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
  const head = await gitOk(['rev-parse', 'HEAD'], dir);
  return waitForVersion(cp, head, (v) => v.status === 'ready', VERSION_TIMEOUT_MS);
}

/**
 * How long a pushed version may take to compile, test and activate: the example repository's
 * seed took over 30 s on a 2-core machine running several suites at once.
 */
const VERSION_TIMEOUT_MS = 120_000;

/**
 * Commits and pushes `files`; resolves with the version once it is ready and active. A version
 * that changes the self-protection policies is not auto-activated: it is activated here with
 * the admin token (which works while no active policy protects `stepgate:activate`).
 */
export async function pushPolicies(
  cp: ControlPlaneProcess,
  dir: string,
  files: Record<string, string | null>,
  message: string,
): Promise<Version> {
  const sha = await commit(dir, files, message);
  const push = await git(['push', '--quiet', 'origin', 'main'], dir);
  if (push.status !== 0) throw new Error(`git push failed:\n${push.stderr}`);
  let version = await waitForVersion(
    cp,
    sha,
    (v) => v.active || v.status === 'failed' || v.protectionChanged,
    VERSION_TIMEOUT_MS,
  );
  if (version.status !== 'ready') {
    const detail = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${version.number}`);
    throw new Error(`version ${version.number} failed: ${JSON.stringify(detail.body.errors)}`);
  }
  if (!version.active) {
    const activated = await api(
      cp.url,
      cp.adminToken,
      'POST',
      `/v1/versions/${version.number}/activate`,
      {
        reason: `test: ${message}`,
      },
    );
    if (activated.status !== 200)
      throw new Error(
        `activating ${version.number}: ${activated.status} ${JSON.stringify(activated.body)}`,
      );
    version = await waitForVersion(cp, sha, (v) => v.active);
  }
  return version;
}

/**
 * Enrols and confirms a first TOTP factor for the token's subject (with an admin's enrolment
 * code) and elevates once; returns the grant.
 */
export async function elevateWithTotp(
  cp: ControlPlaneProcess,
  token: string,
  scope: { actions?: string[]; resources?: string[] } = {},
): Promise<{ id: string; subject: string; level: string | null; amr: string[] }> {
  const device = await enrolTotp(cp, token, await subjectOf(cp, token));
  const elevated = await api(cp.url, token, 'POST', '/v1/elevation/totp', {
    code: await totpCode(device),
    ...scope,
  });
  if (elevated.status !== 201)
    throw new Error(`TOTP elevation: ${elevated.status} ${JSON.stringify(elevated.body)}`);
  return elevated.body;
}

/** A TOTP authenticator in a test: its secret and the last time step it gave a code for. */
export interface TotpDevice {
  secret: string;
  lastStep: number;
}

const STEP_SECONDS = 30;
const currentStep = () => Math.floor(Date.now() / 1000 / STEP_SECONDS);

/**
 * The device's next code the server can still accept: the current or the next time step (the
 * server allows one step of drift) unless already used, else it waits for the next step.
 */
export async function totpCode(device: TotpDevice): Promise<string> {
  for (;;) {
    const step = [currentStep(), currentStep() + 1].find((s) => s > device.lastStep);
    if (step !== undefined) {
      device.lastStep = step;
      return generate({ secret: device.secret, epoch: step * STEP_SECONDS });
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The subject a token acts for, from the admin's token list (matched by the token's prefix). */
export async function subjectOf(cp: ControlPlaneProcess, token: string): Promise<string> {
  const listed = await api(cp.url, cp.adminToken, 'GET', '/v1/tokens');
  const matches = (
    listed.body.tokens as { prefix: string; subject: string; revokedAt: unknown }[]
  ).filter((row) => row.revokedAt === null && token.startsWith(row.prefix));
  if (matches.length !== 1)
    throw new Error(
      `cannot tell the subject of the token (${matches.length} tokens match its prefix)`,
    );
  return matches[0]!.subject;
}

/** An admin issues a one-time enrolment code for `subject` (POST /v1/enrolment-codes). */
export async function issueEnrolmentCode(
  cp: ControlPlaneProcess,
  subject: string,
): Promise<{ id: string; code: string }> {
  const issued = await api(cp.url, cp.adminToken, 'POST', '/v1/enrolment-codes', { subject });
  if (issued.status !== 201)
    throw new Error(`POST /v1/enrolment-codes: ${issued.status} ${JSON.stringify(issued.body)}`);
  return issued.body as { id: string; code: string };
}

/**
 * Enrols and confirms a first TOTP factor for the token's `subject`: an admin issues an
 * enrolment code, the person enrols with it and confirms with the first code (no grant).
 */
export async function enrolTotp(
  cp: ControlPlaneProcess,
  token: string,
  subject: string,
): Promise<TotpDevice> {
  const { code: enrolmentCode } = await issueEnrolmentCode(cp, subject);
  const enrolled = await api(cp.url, token, 'POST', '/v1/elevation/totp/enroll', {
    enrolmentCode,
  });
  if (enrolled.status !== 201)
    throw new Error(`TOTP enrolment: ${enrolled.status} ${JSON.stringify(enrolled.body)}`);
  const device = { secret: enrolled.body.secret as string, lastStep: 0 };
  const confirmed = await api(cp.url, token, 'POST', '/v1/elevation/totp/confirm', {
    code: await totpCode(device),
  });
  if (confirmed.status !== 200)
    throw new Error(`TOTP confirmation: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
  return device;
}

/** `stepgate.yaml` of the example repository with `extra` appended (e.g. an `issuers:` list). */
export function settingsWith(original: string, extra: string): string {
  return `${original.trimEnd()}\n${extra}\n`;
}

/** A control plane (`env` on top of the harness defaults) and a connection to its database. */
export interface ControlPlaneWithDatabase {
  cp: ControlPlaneProcess;
  db: pg.Client;
}

/** Builds if needed, starts the control plane and connects to its database. */
export async function startWithDatabase(
  env: Record<string, string> = {},
): Promise<ControlPlaneWithDatabase> {
  await ensureControlPlaneBuilt();
  const cp = await startControlPlane(env);
  const db = new pg.Client({ connectionString: cp.databaseUrl });
  await db.connect();
  return { cp, db };
}

/** Closes the connection, then stops the control plane and drops what it owns. */
export async function stopWithDatabase(started: Partial<ControlPlaneWithDatabase>): Promise<void> {
  await started.db?.end();
  await started.cp?.destroy();
}

/** A new token acting for the person `subject`, with `scopes`. */
export async function personToken(
  cp: ControlPlaneProcess,
  subject: string,
  scopes: string[] = ['viewer'],
): Promise<string> {
  const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
    name: `${subject}-${scopes.join('-')}`,
    scopes,
    subject,
  });
  if (response.status !== 201)
    throw new Error(`POST /v1/tokens: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.token as string;
}

/** The audit events of `action` on `target`, among the last 500. */
export async function auditEvents(cp: ControlPlaneProcess, action: string, target: string) {
  const response = await api(cp.url, cp.adminToken, 'GET', '/v1/audit?limit=500');
  if (response.status !== 200)
    throw new Error(`GET /v1/audit: ${response.status} ${JSON.stringify(response.body)}`);
  return (response.body.events as { action: string; target: string; details: unknown }[]).filter(
    (event) => event.action === action && event.target === target,
  );
}
