/**
 * The Elevation page in a real Chromium (issue 15), with Chrome's virtual authenticator (the
 * DevTools WebAuthn domain) standing in for a platform passkey: an admin issues dana an
 * enrolment code, she enrols a passkey with it in the page and elevates with it; the grant
 * reaches the agent, whose decision for her deploy flips from step_up to allow. Revoking the
 * grant in the page closes it again.
 */
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, killAllAgents, removeTempDirs, waitFor } from '../e2e/support.js';
import {
  expectNoProblems,
  launchChromium,
  newConsolePage,
  screenshot,
  seriousViolations,
  signIn,
  startConsoleFleet,
  type ConsoleFleet,
} from './support.js';

/** The seeded example stepgate.yaml makes amr hwk (a passkey's) phishing_resistant. */
const DEPLOY_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: console-elevation
target:
  actions: ["console:deploy"]
  resources: ["prod/**"]
rules:
  - name: passkey-first
    effect: step_up
    require: { level: phishing_resistant }
    message: Production deploys need a passkey.
  - name: deployers
    effect: allow
    when: '"deployer" in principal.roles'
`;

const DEPLOY = {
  principal: { id: 'dana', roles: ['deployer'] },
  action: 'console:deploy',
  resource: { kind: 'service', id: 'prod/api' },
};

let fleet: ConsoleFleet;
let browser: Browser;

beforeAll(async () => {
  [fleet, browser] = await Promise.all([
    startConsoleFleet({
      name: 'console-elevation',
      people: { dana: ['viewer'], erin: ['viewer'] },
      policies: { 'console/elevation.yaml': DEPLOY_POLICY },
      message: 'console: deploys need a passkey',
    }),
    launchChromium(),
  ]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await killAllAgents();
  await fleet?.cp.destroy();
  removeTempDirs();
});

async function effectOnAgent(): Promise<string> {
  const reply = await fleet.agent.decide(DEPLOY);
  if (reply.status !== 200)
    throw new Error(`decide: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.effect as string;
}

describe('the Elevation page', () => {
  it('enrols a passkey, elevates with it, and the grant lets the deploy through the agent; revoking closes it', async () => {
    expect(await effectOnAgent()).toBe('step_up');
    const issued = await api(fleet.cp.url, fleet.cp.adminToken, 'POST', '/v1/enrolment-codes', {
      subject: 'dana',
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const enrolmentCode = issued.body.code as string;

    const { page, problems } = await newConsolePage(browser);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await signIn(page, fleet.consoleUrl, fleet.tokens.dana!);
    await page.getByRole('link', { name: 'Elevation', exact: true }).click();
    await page.getByRole('heading', { name: 'Elevation', level: 1 }).waitFor();
    await page.getByText('You hold no grant in force.').waitFor();

    // Without the enrolment code a first factor is refused, with the API's reason.
    await page.getByRole('button', { name: 'Enrol a passkey' }).click();
    await expect
      .poll(() => page.getByRole('alert').first().textContent())
      .toMatch(/enrolment code/i);

    await page.getByLabel(/Enrolment code/).fill(enrolmentCode);
    await page.getByRole('button', { name: 'Enrol a passkey' }).click();
    await page.getByText('Passkey enrolled.').waitFor();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(await effectOnAgent()).toBe('step_up');

    await page.getByLabel(/^Action/).fill('console:deploy');
    await page.getByLabel(/^Resource/).fill('prod/**');
    await page.getByLabel(/^Lifetime/).fill('10');
    await page.getByRole('button', { name: 'Elevate with a passkey' }).click();
    await page.getByText(/Elevated with a passkey/).waitFor();
    const row = page.getByRole('row', { name: /Elevation/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('prod/**');
    expect(await row.textContent()).toContain('in force');

    await waitFor(
      'the grant to reach the agent',
      async () => (await effectOnAgent()) === 'allow',
      15_000,
    );

    await page.waitForLoadState('networkidle');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'elevation');

    await row.getByRole('button', { name: /^Revoke/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke the grant' });
    await dialog.getByLabel(/Reason/).fill('deploy done');
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByText('You hold no grant in force.').waitFor();
    await waitFor(
      'the revocation to reach the agent',
      async () => (await effectOnAgent()) === 'step_up',
      15_000,
    );
    const grants = await api(fleet.cp.url, fleet.tokens.dana!, 'GET', '/v1/grants?all=true');
    expect(grants.body.grants).toHaveLength(1);
    expect(grants.body.grants[0].revokedAt).not.toBeNull();
    expectNoProblems(problems);
    await page.context().close();
  }, 120_000);
  it('enrols an authenticator app (secret shown as text, confirmed by its first code) and elevates with its next code', async () => {
    const issued = await api(fleet.cp.url, fleet.cp.adminToken, 'POST', '/v1/enrolment-codes', {
      subject: 'erin',
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.erin!);
    await page.getByRole('link', { name: 'Elevation', exact: true }).click();
    await page.getByLabel(/Enrolment code/).fill(issued.body.code as string);
    await page.getByRole('button', { name: 'Enrol an authenticator app' }).click();
    const secret = (await page.locator('code.totp-secret').first().textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(await page.locator('code.totp-secret').nth(1).textContent()).toContain(
      `secret=${secret}`,
    );
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('First code from the app').fill(await generate({ secret }));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('Authenticator app confirmed.').waitFor();
    expect((await api(fleet.cp.url, fleet.tokens.erin!, 'GET', '/v1/grants')).body.grants).toEqual(
      [],
    );

    // The confirming code is used up: the next one (one 30 s step later) elevates.
    const next = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    await page.getByLabel('Or a code from your authenticator app').fill(next);
    await page.getByRole('button', { name: 'Elevate with the code' }).click();
    await page.getByText(/Elevated with an authenticator code/).waitFor();
    const row = page.getByRole('row', { name: /Elevation/ });
    expect(await row.textContent()).toContain('authenticator code');
    const grants = await api(fleet.cp.url, fleet.tokens.erin!, 'GET', '/v1/grants');
    expect(grants.body.grants).toEqual([
      expect.objectContaining({ method: 'totp', revokedAt: null }),
    ]);
    expectNoProblems(problems);
    await page.context().close();
  }, 120_000);
});
