/**
 * The console in a real Chromium (issue 15): served by the real control plane at /console
 * under a strict Content-Security-Policy, signed in with an API token kept in session storage
 * only, every page reachable and free of serious accessibility violations (axe-core).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllAgents, removeTempDirs } from '../e2e/support.js';
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

const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: console-basics
target:
  actions: ["console:read"]
rules:
  - name: readers
    effect: allow
    when: '"reader" in principal.roles'
`;

let fleet: ConsoleFleet;
let browser: Browser;

beforeAll(async () => {
  [fleet, browser] = await Promise.all([
    startConsoleFleet({
      name: 'console-basics',
      people: { olivia: ['operator'] },
      policies: { 'console/basics.yaml': POLICY },
      message: 'console: basics',
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

describe('the console', () => {
  it('is served at /console under a strict Content-Security-Policy', async () => {
    for (const path of ['/console', '/console/', '/console/decisions/some-id']) {
      const response = await fetch(`${fleet.consoleUrl.replace('/console', '')}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
    const missing = await fetch(`${fleet.consoleUrl}/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'route/not_found' });
  });

  it('refuses a wrong token with a readable message, and keeps a good one in session storage only', async () => {
    const { page, problems } = await newConsolePage(browser);
    await page.goto(`${fleet.consoleUrl}/`);
    await page.getByLabel('API token').fill('sg_not_a_real_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('This token is not valid or was revoked.');
    await screenshot(page, 'sign-in');

    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    const stored = await page.evaluate(() => ({
      session: Object.values(sessionStorage).join(' '),
      local: Object.values(localStorage).join(' '),
      cookies: document.cookie,
    }));
    expect(stored.session).toContain(fleet.tokens.olivia);
    expect(stored.local).toBe('');
    expect(stored.cookies).toBe('');
    // Signing out forgets it.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expectNoProblems(problems);
    await page.context().close();
  });

  it('reaches every page from the navigation by keyboard, each without serious axe violations', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    const links = page.getByRole('navigation', { name: 'Console pages' }).getByRole('link');
    const names = await links.allTextContents();
    expect(names.length).toBeGreaterThanOrEqual(8);
    const violations: string[] = [];
    for (const name of names) {
      const link = page.getByRole('link', { name, exact: true });
      await link.focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => link.getAttribute('aria-current')).toBe('page');
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await page.waitForLoadState('networkidle');
      for (const violation of await seriousViolations(page))
        violations.push(`${name}: ${violation}`);
    }
    expect(violations).toEqual([]);
    expectNoProblems(problems);
    await page.context().close();
  });

  it('follows the system theme, dark as light, and stays readable (axe colour contrast) in both', async () => {
    const backgrounds: string[] = [];
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, problems } = await newConsolePage(browser);
      await page.emulateMedia({ colorScheme });
      await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
      await page.getByRole('link', { name: 'Agents', exact: true }).click();
      await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      backgrounds.push(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
      expect(await seriousViolations(page)).toEqual([]);
      if (colorScheme === 'dark') await screenshot(page, 'agents-dark');
      expectNoProblems(problems);
      await page.context().close();
    }
    expect(backgrounds[0]).toBe('rgb(255, 255, 255)');
    expect(backgrounds[1]).not.toBe(backgrounds[0]);
  });

  it('the API refuses a browser page of another origin', async () => {
    const api = fleet.consoleUrl.replace('/console', '');
    const refused = await fetch(`${api}/v1/versions`, {
      headers: {
        authorization: `Bearer ${fleet.tokens.olivia}`,
        origin: 'https://evil.example',
      },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain('cross-origin');
    const crossSite = await fetch(`${api}/v1/versions`, {
      headers: { authorization: `Bearer ${fleet.tokens.olivia}`, 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const sameOrigin = await fetch(`${api}/v1/versions`, {
      headers: { authorization: `Bearer ${fleet.tokens.olivia}`, origin: api },
    });
    expect(sameOrigin.status).toBe(200);
    // In the browser: a page on another origin (127.0.0.1 is not localhost) cannot read it.
    const { page } = await newConsolePage(browser);
    await page.goto(`${api.replace('localhost', '127.0.0.1')}/console/`);
    const outcome = await page.evaluate(
      async ([url, token]) => {
        try {
          const response = await fetch(`${url}/v1/versions`, {
            headers: { authorization: `Bearer ${token}` },
          });
          return `status ${response.status}`;
        } catch (error) {
          return `blocked: ${(error as Error).name}`;
        }
      },
      [api, fleet.tokens.olivia as string],
    );
    expect(outcome).toMatch(/^blocked/);
    await page.context().close();
  });
});
