/**
 * The console's Overview page (issue 15) in a real Chromium: real decisions made by a real
 * agent, shipped to the control plane, then read back by the page as counts by effect, charts
 * with their numbers as text, the rules and principals behind the denials and step-ups (each a
 * link to the Decisions page filtered by it), the active revision and the fleet's convergence.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOk, killAllAgents, removeTempDirs, waitFor } from '../e2e/support.js';
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
name: overview-docs
target:
  actions: ["doc:*"]
rules:
  - name: readers
    effect: allow
    when: action == "doc:read" || action == "doc:export"
  - name: no-deletes
    effect: deny
    when: action == "doc:delete"
  - name: exports-need-mfa
    effect: step_up
    when: action == "doc:export"
    require: { level: mfa }
`;

/** What the agent is asked, and what it must answer. */
const TRAFFIC = [
  ...Array.from({ length: 4 }, (_, i) => ({
    who: `alice-${i % 2}`,
    action: 'doc:read',
    effect: 'allow',
  })),
  ...Array.from({ length: 3 }, () => ({ who: 'mallory', action: 'doc:delete', effect: 'deny' })),
  ...Array.from({ length: 2 }, () => ({ who: 'carol', action: 'doc:export', effect: 'step_up' })),
];

let fleet: ConsoleFleet;
let browser: Browser;

beforeAll(async () => {
  [fleet, browser] = await Promise.all([
    startConsoleFleet({
      name: 'console-overview',
      people: { olivia: ['viewer'] },
      policies: { 'docs/overview.yaml': POLICY },
      message: 'console: overview',
    }),
    launchChromium(),
  ]);
  for (const request of TRAFFIC) {
    const reply = await fleet.agent.decide({
      principal: { id: request.who },
      action: request.action,
      resource: { kind: 'doc', id: 'docs/plan' },
    });
    expect((reply.body as { effect?: string }).effect, JSON.stringify(reply.body)).toBe(
      request.effect,
    );
  }
  // The agent ships its decision log every second: wait until all of it is stored.
  await waitFor(
    `the agent's ${TRAFFIC.length} decisions stored`,
    async () =>
      (await getOk(fleet.cp, fleet.tokens.olivia as string, '/v1/decisions?limit=100')).decisions
        .length >= TRAFFIC.length,
    30_000,
    250,
  );
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await killAllAgents();
  await fleet?.cp.destroy();
  removeTempDirs();
});

describe('the overview page', () => {
  it('shows the decisions by effect, the top denied rule, the active revision and a converged agent', async () => {
    const { page, problems } = await newConsolePage(browser);
    page.setDefaultTimeout(20_000);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    const section = page.locator('section[aria-labelledby="overview-title"]');
    await section.and(page.locator('[data-ready="true"]')).waitFor();
    const count = (effect: string) =>
      section.locator(`dd[data-effect="${effect}"]`).evaluate((dd) => dd.firstChild?.textContent);
    expect(await count('total')).toBe('9');
    expect((await count('allow'))?.trim()).toBe('4');
    expect((await count('deny'))?.trim()).toBe('3');
    expect((await count('step_up'))?.trim()).toBe('2');

    // The charts' numbers as text: the summary sentences and the tables behind them.
    await expect.poll(() => section.locator('.time-chart canvas').count()).toBeGreaterThan(0);
    const captions = await section.locator('.time-chart figcaption').allTextContents();
    expect(captions[0]).toContain('9 decisions in the last hour');
    expect(captions[1]).toContain('22.2 % of the decisions in the last hour asked for a step-up');
    await screenshot(page, 'overview');
    // One-minute buckets over the last hour: per minute = per bucket, so the denied column adds
    // up to the 3 denials (the table lists the minutes with decisions).
    await section.getByText('Numbers of “Decisions per minute by effect”').click();
    const table = section.getByRole('table', { name: 'Decisions per minute by effect' });
    await table.waitFor();
    const rows = await table
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))),
      );
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.reduce((sum, [, deny]) => sum + (deny ?? 0), 0)).toBe(3);

    const fleetView = await getOk(fleet.cp, fleet.tokens.olivia as string, '/v1/fleet');
    expect(await section.getByTestId('active-revision').textContent()).toBe(
      String(fleetView.activeRevision),
    );
    expect(await section.getByText('1 of 1 converged').count()).toBe(1);

    const deniedRules = section.getByRole('table', { name: 'Top denied rules' });
    const denyRule = deniedRules.getByRole('link', { name: 'overview-docs/no-deletes' });
    expect(await denyRule.getAttribute('href')).toBe(
      '/console/decisions?rule=overview-docs%2Fno-deletes',
    );
    expect(
      await deniedRules
        .getByRole('row')
        .filter({ has: page.getByRole('link', { name: 'overview-docs/no-deletes' }) })
        .textContent(),
    ).toContain('3');
    const stepUpRules = section.getByRole('table', { name: 'Top step-up rules' });
    expect(
      await stepUpRules.getByRole('link', { name: 'overview-docs/exports-need-mfa' }).count(),
    ).toBe(1);
    const denied = section.getByRole('table', { name: 'Top denied principals' });
    expect(await denied.getByRole('link', { name: 'mallory' }).getAttribute('href')).toBe(
      '/console/decisions?principal=mallory&effect=deny',
    );

    // With the table of numbers open.
    expect(await seriousViolations(page)).toEqual([]);

    // The system's dark theme: the charts are drawn again in its colours.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByText('Numbers of “Decisions per minute by effect”').click();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'overview-dark');

    // Another window asks again and still finds them; a rule leads to its decisions.
    await page.getByLabel('Window').selectOption('15m');
    await expect
      .poll(() => section.locator('.time-chart figcaption').first().textContent())
      .toContain('9 decisions in the last 15 minutes');
    expect(page.url()).toContain('/console/overview?window=15m');
    await denyRule.click();
    await expect
      .poll(() => page.url())
      .toContain('/console/decisions?rule=overview-docs%2Fno-deletes');
    expectNoProblems(problems);
    await page.context().close();
  }, 120_000);
});
