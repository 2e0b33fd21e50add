/**
 * The browser suites' harness: Debian's Chromium (never a downloaded browser) driven by
 * playwright-core, against a real control plane (serving the built console at /console), a
 * real agent, PostgreSQL and Redis. The console is opened at http://localhost:<port>, the
 * origin WebAuthn is configured for (a passkey's relying party cannot be an IP address).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { freePort, REPO_ROOT, startPolicyFleet, type PolicyFleet } from '../e2e/support.js';

export const CHROMIUM =
  process.env.STEPGATE_CHROMIUM ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path)) ??
  '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set STEPGATE_CHROMIUM`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface ConsoleFleet extends PolicyFleet {
  /** http://localhost:<port>/console */
  consoleUrl: string;
}

/** startPolicyFleet with WebAuthn bound to the console's origin. */
export async function startConsoleFleet(
  options: Parameters<typeof startPolicyFleet>[0],
): Promise<ConsoleFleet> {
  const port = options.port ?? (await freePort());
  const origin = `http://localhost:${port}`;
  const fleet = await startPolicyFleet({
    ...options,
    port,
    env: {
      STEPGATE_WEBAUTHN_RP_ID: 'localhost',
      STEPGATE_WEBAUTHN_ORIGIN: origin,
      ...options.env,
    },
  });
  return { ...fleet, consoleUrl: `${origin}/console` };
}

/**
 * A page that records what must never happen in the console: a Content-Security-Policy
 * refusal or an uncaught exception. `problems()` lists them for an assertion.
 */
export async function newConsolePage(browser: Browser): Promise<{
  page: Page;
  problems: () => string[];
}> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const seen: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text)) seen.push(`csp: ${text}`);
  });
  page.on('pageerror', (error) => seen.push(`page error: ${error.message}`));
  return { page, problems: () => [...seen] };
}

/** Signs in with an API token through the sign-in form, as a person would. */
export async function signIn(page: Page, consoleUrl: string, token: string): Promise<void> {
  await page.goto(`${consoleUrl}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console pages' }).waitFor();
}

const SCREENSHOTS =
  process.env.STEPGATE_SCREENSHOT_DIR ?? join(REPO_ROOT, 'test-results', 'console');

/** Saves a full-page screenshot (the README's pictures come from these). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/**
 * axe-core's WCAG 2.1 A/AA rules on the page as it is. The script is evaluated through the
 * DevTools protocol, which the page's CSP does not govern (an injected <script> would be
 * refused, rightly). Returns the serious and critical violations.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (...args: unknown[]) => Promise<any> } }).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return (result.violations as any[]).map((v) => ({
      id: v.id as string,
      impact: v.impact as string,
      help: v.help as string,
      targets: (v.nodes as any[]).slice(0, 3).map((n) => String(n.target)),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.targets.join(', ')}`);
}

/** Asserts the page raised no CSP refusal and no uncaught error. */
export function expectNoProblems(problems: () => string[]): void {
  expect(problems()).toEqual([]);
}
