/**
 * OIDC sign-in to the console in a real Chromium (issue 15): the active stepgate.yaml names a
 * console issuer (a real `oidc-provider` on loopback), the sign-in page offers it, the browser
 * runs the authorization code + PKCE flow itself (the token endpoint is allowed by the page's
 * CSP because the control plane adds exactly that origin), and the admin API takes the ID token
 * with the scopes the person's groups map to. A person whose groups map to none gets the API's
 * refusal as a readable message.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cloneEmbedded,
  pushPolicies,
  settingsWith,
} from '../integration/control-plane/step-up-support.js';
import { readText } from '../integration/control-plane/support.js';
import {
  startOpenIdProvider,
  type OpenIdProvider,
  type TestUser,
} from '../support/openid-provider.js';
import { freePort, killAllAgents, removeTempDirs, tempDir } from '../e2e/support.js';
import {
  expectNoProblems,
  launchChromium,
  newConsolePage,
  screenshot,
  startConsoleFleet,
  type ConsoleFleet,
} from './support.js';

const TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const ALICE: TestUser = {
  id: 'alice',
  password: 'alice-pw',
  totpSecret: TOTP,
  claims: { email: 'alice@example.com', groups: ['stepgate-operators'] },
};
const BOB: TestUser = {
  id: 'bob',
  password: 'bob-pw',
  totpSecret: TOTP,
  claims: { email: 'bob@example.com', groups: ['marketing'] },
};

const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: console-oidc
target:
  actions: ["console:read"]
rules:
  - name: readers
    effect: allow
    when: '"reader" in principal.roles'
`;

let fleet: ConsoleFleet;
let op: OpenIdProvider;
let browser: Browser;

beforeAll(async () => {
  const port = await freePort();
  [op, browser] = await Promise.all([
    startOpenIdProvider({
      api: 'https://api.example.test/',
      user: ALICE,
      others: [BOB],
      redirectUris: [`http://localhost:${port}/console/oidc/callback`],
    }),
    launchChromium(),
  ]);
  fleet = await startConsoleFleet({
    name: 'console-oidc',
    people: {},
    policies: { 'console/oidc.yaml': POLICY },
    message: 'console: a policy for the oidc suite',
    port,
  });
  const work = tempDir('console-oidc-clone');
  await cloneEmbedded(fleet.cp, work);
  const block = [
    'console:',
    '  oidc:',
    `    issuer: ${op.issuer}`,
    `    clientId: ${op.clientId}`,
    '    scopes: [openid, email, groups]',
    '    subjectClaim: email',
    '    rolesClaim: groups',
    '    roles:',
    '      stepgate-operators: [operator, approver]',
  ].join('\n');
  await pushPolicies(
    fleet.cp,
    work,
    { 'stepgate.yaml': settingsWith(readText(work, 'stepgate.yaml'), block) },
    'Console sign-in with the test provider',
  );
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await killAllAgents();
  await fleet?.cp.destroy();
  await op?.close();
  removeTempDirs();
});

/** Clicks the issuer's button and logs in on the provider as `user`; back on the console. */
async function signInWithProvider(page: Page, user: TestUser): Promise<void> {
  await page.goto(`${fleet.consoleUrl}/`);
  await page.getByRole('button', { name: /^Sign in with 127\.0\.0\.1:/ }).click();
  await page.waitForURL(/\/interaction\//);
  // The test provider's login step is an HTTP form; post it with the browser's own cookies.
  const answer = await page.context().request.post(page.url(), {
    form: { username: user.id, password: user.password },
    maxRedirects: 0,
  });
  expect(answer.status(), await answer.text()).toBe(303);
  await page.goto(new URL(answer.headers().location as string, op.issuer).href);
}

describe('console sign-in with OIDC', () => {
  it('lets the console page reach exactly the token endpoint (CSP connect-src)', async () => {
    const response = await fetch(`${fleet.consoleUrl}/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`connect-src 'self' ${new URL(op.issuer).origin}`);
    expect(csp).not.toContain('*');
  });

  it('signs a person in through the provider (code + PKCE) and uses the API with the ID token', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signInWithProvider(page, ALICE);
    await page.getByRole('navigation', { name: 'Console pages' }).waitFor();
    expect(page.url()).toBe(`${fleet.consoleUrl}/overview`);
    await expect.poll(() => page.locator('.who').textContent()).toContain('identity provider');
    const held = await page.evaluate(() => Object.values(sessionStorage).join(' '));
    expect(held).toContain('"kind":"oidc"');
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    // The API took the ID token: the agents page lists the fleet's agent.
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    await expect.poll(() => page.getByRole('row').count(), { timeout: 20_000 }).toBeGreaterThan(1);
    await screenshot(page, 'oidc-signed-in');
    expectNoProblems(problems);
    await page.context().close();
  });

  it("shows the API's refusal readably to a person whose groups map to no scope", async () => {
    const { page } = await newConsolePage(browser);
    await signInWithProvider(page, BOB);
    await page.getByRole('navigation', { name: 'Console pages' }).waitFor();
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    await expect
      .poll(() => page.getByRole('alert').first().textContent(), { timeout: 20_000 })
      .toMatch(/marketing/);
    await page.context().close();
  });

  it('refuses a callback whose state does not match the sign-in started', async () => {
    const { page } = await newConsolePage(browser);
    await page.goto(`${fleet.consoleUrl}/oidc/callback?code=stolen&state=forged`);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/no sign-in was started|does not match/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });
});
