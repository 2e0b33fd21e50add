/**
 * The console's Decisions and Audit pages (issue 15) in a real Chromium: decisions made by a
 * real agent and shipped to the control plane, beside 100,000 more rows put straight into the
 * control plane's database, so the list must page on the server (keyset cursor, 50 a page) and
 * filter there. Filters live in the URL (links from the Overview, back/forward); one decision
 * shows its input and the rules behind it; the audit log lists the fleet's activation.
 */
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
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
name: console-decisions
target:
  actions: ["doc:*"]
rules:
  - name: readers
    effect: allow
    when: action in ["doc:read", "doc:export"]
  - name: no-deletes
    effect: deny
    when: action == "doc:delete"
  - name: exports-need-mfa
    effect: step_up
    when: action == "doc:export"
    require: { level: mfa }
`;

const TRAFFIC = [
  { who: 'alice', action: 'doc:read', id: 'docs/plan', effect: 'allow' },
  { who: 'alice', action: 'doc:read', id: 'docs/budget', effect: 'allow' },
  { who: 'mallory', action: 'doc:delete', id: 'docs/plan', effect: 'deny' },
  { who: 'mallory', action: 'doc:delete', id: 'docs/budget', effect: 'deny' },
  { who: 'carol', action: 'doc:export', id: 'docs/plan', effect: 'step_up' },
];

const SEEDED = 100_000;

/**
 * 100,000 older rows shaped like an agent's: spread over the two days before the fleet's own
 * decisions, one in ten a deny and one in ten a step-up, 1,000 principals.
 */
const SEED_SQL = `
INSERT INTO decision_log (id, at, agent_id, revision, effect, principal, action, resource_kind,
  resource_id, require, reasons, input, errors, duration_ns)
SELECT 'seed-' || g,
  now() - interval '1 hour' - (g * interval '1.7 seconds'),
  'seed-agent-' || (g % 20), 1, s.effect::decision_effect, 'seed-user-' || (g % 1000),
  s.action, 'doc', 'docs/seed-' || (g % 500),
  CASE WHEN s.effect = 'step_up' THEN '{"level": "mfa"}'::jsonb END,
  jsonb_build_array(jsonb_build_object('policy', 'console-decisions', 'rule', s.rule,
    'effect', s.effect)),
  jsonb_build_object('principal', jsonb_build_object('id', 'seed-user-' || (g % 1000)),
    'action', s.action, 'resource', jsonb_build_object('kind', 'doc', 'id', 'docs/seed-' || (g % 500))),
  0, 30000 + g % 5000
FROM (
  SELECT g,
    CASE g % 10 WHEN 0 THEN 'deny' WHEN 1 THEN 'step_up' ELSE 'allow' END AS effect,
    CASE g % 10 WHEN 0 THEN 'doc:delete' WHEN 1 THEN 'doc:export' ELSE 'doc:read' END AS action,
    CASE g % 10 WHEN 0 THEN 'no-deletes' WHEN 1 THEN 'exports-need-mfa' ELSE 'readers' END AS rule
  FROM generate_series(1, ${SEEDED}) AS g
) AS s`;

let fleet: ConsoleFleet;
let browser: Browser;

beforeAll(async () => {
  [fleet, browser] = await Promise.all([
    startConsoleFleet({
      name: 'console-decisions',
      people: { olivia: ['viewer'] },
      policies: { 'docs/decisions.yaml': POLICY },
      message: 'console: decisions',
    }),
    launchChromium(),
  ]);
  for (const request of TRAFFIC) {
    const reply = await fleet.agent.decide({
      principal: { id: request.who },
      action: request.action,
      resource: { kind: 'doc', id: request.id },
    });
    expect((reply.body as { effect?: string }).effect, JSON.stringify(reply.body)).toBe(
      request.effect,
    );
  }
  await waitFor(
    `the agent's ${TRAFFIC.length} decisions stored`,
    async () =>
      (await getOk(fleet.cp, fleet.tokens.olivia as string, '/v1/decisions?limit=100')).decisions
        .length >= TRAFFIC.length,
    30_000,
    250,
  );
  const client = new pg.Client({ connectionString: fleet.cp.databaseUrl });
  await client.connect();
  try {
    await client.query(SEED_SQL);
    await client.query('VACUUM ANALYZE decision_log');
    // 120 audit events of one actor: more than two pages of the audit log.
    await client.query(
      `INSERT INTO audit_event (id, at, actor, action, target, details)
       SELECT gen_random_uuid(), now() - g * interval '1 minute', 'seed-actor', 'test.seeded',
         'seed-' || g, jsonb_build_object('n', g)
       FROM generate_series(1, 120) AS g`,
    );
  } finally {
    await client.end();
  }
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await killAllAgents();
  await fleet?.cp.destroy();
  removeTempDirs();
});

const table = (page: Page, name: string) => page.getByRole('table', { name });
const decisionRows = (page: Page) => table(page, 'Decisions, newest first').locator('tbody tr');

/** The text of one column of the decision table (1-based), every row of the page. */
async function column(page: Page, index: number): Promise<string[]> {
  return decisionRows(page).locator(`:is(th, td):nth-child(${index})`).allTextContents();
}

async function waitForRows(page: Page): Promise<void> {
  await decisionRows(page).first().waitFor();
  await expect
    .poll(() => table(page, 'Decisions, newest first').getAttribute('aria-busy'))
    .toBe('false');
}

describe('the Decisions page', () => {
  it('lists the newest decisions a page at a time over 100,000 rows, filtered in the URL', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.getByRole('link', { name: 'Decisions', exact: true }).click();
    await waitForRows(page);
    // One page of 50, the fleet's own decisions first (newest), never the whole log.
    expect(await decisionRows(page).count()).toBe(50);
    const principals = await column(page, 3);
    expect(principals.slice(0, TRAFFIC.length).sort()).toEqual(TRAFFIC.map((t) => t.who).sort());
    await screenshot(page, 'decisions');
    expect(await seriousViolations(page)).toEqual([]);

    // The principal filter, applied through the labelled form: only theirs, in the URL.
    await page.getByLabel('Principal').fill('mallory');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('principal')).toBe('mallory');
    await expect.poll(() => column(page, 3)).toEqual(['mallory', 'mallory']);
    expect(await column(page, 2)).toEqual(['deny', 'deny']);
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);

    // A prefix: every seeded user whose id starts with seed-user-99 (10 of the 1,000).
    await page.getByLabel('Principal').fill('seed-user-99*');
    await page.getByLabel('Effect').selectOption('deny');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('effect')).toBe('deny');
    await waitForRows(page);
    expect(new Set(await column(page, 2))).toEqual(new Set(['deny']));
    for (const principal of await column(page, 3)) expect(principal).toMatch(/^seed-user-99/);

    // Back: the previous filter (mallory, any effect) is in force again, form and list.
    await page.goBack();
    await expect.poll(() => page.getByLabel('Principal').inputValue()).toBe('mallory');
    expect(await page.getByLabel('Effect').inputValue()).toBe('');
    await expect.poll(() => column(page, 3)).toEqual(['mallory', 'mallory']);
    await page.goForward();
    await expect.poll(() => page.getByLabel('Principal').inputValue()).toBe('seed-user-99*');
    expectNoProblems(problems);
    await page.context().close();
  });

  it('pages Older and Newer through 10,000 denials, counting pages', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    // A link as the Overview makes them.
    await page.goto(`${fleet.consoleUrl}/decisions?effect=deny`);
    await waitForRows(page);
    expect(await page.getByLabel('Effect').inputValue()).toBe('deny');
    const pager = page.getByRole('navigation', { name: 'Decision pages' });
    await expect.poll(() => pager.textContent()).toContain('Page 1');
    const first = await column(page, 1);
    const seen = new Set<string>();
    for (let n = 2; n <= 4; n++) {
      await pager.getByRole('button', { name: 'Older' }).click();
      await expect.poll(() => pager.textContent()).toContain(`Page ${n}`);
      await waitForRows(page);
      expect(await decisionRows(page).count()).toBe(50);
      expect(new Set(await column(page, 2))).toEqual(new Set(['deny']));
      // Each page is new rows, older than the last.
      const ids = await decisionRows(page)
        .locator('th a')
        .evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
      for (const id of ids) {
        expect(seen.has(id), id).toBe(false);
        seen.add(id);
      }
    }
    await pager.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(() => pager.textContent()).toContain('Page 3');
    await pager.getByRole('button', { name: 'Newer' }).click();
    await pager.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(() => pager.textContent()).toContain('Page 1');
    expect(await pager.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true);
    await expect.poll(() => column(page, 1)).toEqual(first);

    // A rule link from the Overview, and a time window that ends before the fleet's decisions.
    await page.goto(`${fleet.consoleUrl}/decisions?rule=console-decisions/exports-need-mfa`);
    await waitForRows(page);
    for (const rules of await column(page, 6))
      expect(rules).toContain('console-decisions/exports-need-mfa');
    expect((await column(page, 3))[0]).toBe('carol');
    const halfAnHourAgo = new Date(Date.now() - 30 * 60_000);
    const local = new Date(halfAnHourAgo.getTime() - halfAnHourAgo.getTimezoneOffset() * 60_000)
      .toISOString()
      .slice(0, 16);
    await page.getByLabel('To', { exact: true }).fill(local);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(() => new URL(page.url()).searchParams.get('to'))
      .toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00(Z|[+-]\d\d:\d\d)$/);
    await expect.poll(async () => (await column(page, 3))[0]).toMatch(/^seed-user-/);
    expect(Date.parse(new URL(page.url()).searchParams.get('to') as string)).toBe(
      Math.floor(halfAnHourAgo.getTime() / 60_000) * 60_000,
    );
    expectNoProblems(problems);
    await page.context().close();
  });

  it('opens one decision with its input, reasons, requirement and evidence', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.goto(`${fleet.consoleUrl}/decisions?principal=carol`);
    await waitForRows(page);
    await decisionRows(page).first().locator('th a').click();
    await page.getByRole('heading', { level: 1, name: 'Decision' }).waitFor();
    const input = page.getByLabel('decision input');
    await input.waitFor();
    const parsed = JSON.parse((await input.textContent()) as string);
    expect(parsed).toMatchObject({
      principal: { id: 'carol' },
      action: 'doc:export',
      resource: { kind: 'doc', id: 'docs/plan' },
    });
    const reasons = page.getByRole('table', { name: 'Rules that matched' });
    const matched = await reasons.locator('tbody th').allTextContents();
    expect(matched).toContain('exports-need-mfa');
    expect(await page.getByLabel('requirement').textContent()).toContain('mfa');
    expect(await page.locator('.summary').textContent()).toContain('step-up');
    await screenshot(page, 'decision');
    expect(await seriousViolations(page)).toEqual([]);
    // Back to the list, still filtered.
    await page.getByRole('link', { name: /Back to the decisions/ }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('principal')).toBe('carol');
    await waitForRows(page);
    expect(await column(page, 3)).toEqual(['carol']);
    // An unknown id says so.
    await page.goto(`${fleet.consoleUrl}/decisions/no-such-decision`);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('Could not load this decision');
    expectNoProblems(problems);
    await page.context().close();
  });
});

describe('the Audit page', () => {
  it("lists the fleet's activation, filtered by action and actor, with details to open", async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    const events = table(page, 'Audit events, newest first').locator('tbody tr');
    await events.first().waitFor();
    expect(await events.count()).toBeGreaterThan(0);

    await page.getByLabel('Action').fill('version.*');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('action')).toBe('version.*');
    await expect
      .poll(async () => (await events.locator('td:nth-child(3)').allTextContents()).join(' '))
      .toMatch(/version\.activate/);
    for (const action of await events.locator('td:nth-child(3)').allTextContents())
      expect(action).toMatch(/^version\./);
    const activation = events.filter({ hasText: 'version.activate' }).first();
    const details = activation.locator('details');
    await details.locator('summary').click();
    expect(await details.getAttribute('open')).not.toBeNull();
    await screenshot(page, 'audit');
    expect(await seriousViolations(page)).toEqual([]);

    // 120 events of one actor: pages of 50, 50 and 20, then no older page.
    await page.getByLabel('Action').fill('');
    await page.getByLabel('Actor').fill('seed-actor');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const pager = page.getByRole('navigation', { name: 'Audit pages' });
    const targets = () => events.locator('td:nth-child(4)').allTextContents();
    await expect.poll(async () => (await targets())[0]).toBe('seed-1');
    expect(await events.count()).toBe(50);
    await pager.getByRole('button', { name: 'Older' }).click();
    await expect.poll(async () => (await targets())[0]).toBe('seed-51');
    expect(await events.count()).toBe(50);
    await pager.getByRole('button', { name: 'Older' }).click();
    await expect
      .poll(() => targets())
      .toEqual(Array.from({ length: 20 }, (_, i) => `seed-${101 + i}`));
    expect(await pager.textContent()).toContain('Page 3');
    expect(await pager.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);

    // An actor nobody is: nothing, said in words.
    await page.getByLabel('Actor').fill('nobody-at-all');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No audit event matches these filters.').waitFor();
    expectNoProblems(problems);
    await page.context().close();
  });
});
