/**
 * The console's live data and signals page (issue 15) in a real Chromium against a real
 * control plane and agent: a live document edited in the page with a reason changes the agent's
 * decision and the reason is in the audit log; a schema-invalid edit shows the API's message and
 * the violating path and changes nothing; one key of an object document is set; a document fed
 * by a data source (a real local HTTP feed) is read-only and names its source; a subject's risk
 * signals show the value posted events gave them.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, killAllAgents, REPO_ROOT, removeTempDirs } from '../e2e/support.js';
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

const BLOCKED_SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'array',
  items: { type: 'string' },
});
const LIMITS_SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: { type: 'integer', minimum: 0 },
});
const FEED_SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'array',
  items: { type: 'string' },
});
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: console-live
target: { actions: ["console-live:*"] }
rules:
  - name: blocked
    effect: deny
    when: context.ip in data.console_blocked
  - name: others
    effect: allow
    when: "true"
`;

/** How long the page may take to show what it fetched (the machine is shared and busy). */
const PAGE = { timeout: 15_000 };

const BLOCKED_IP = '203.0.113.77';
const REASON = 'block the scanner from ticket 4711';

let feed: Server;
let fleet: ConsoleFleet;
let browser: Browser;

/** The example stepgate.yaml with the page's documents, a data source and a signal added. */
function settings(feedUrl: string): string {
  const example = readFileSync(join(REPO_ROOT, 'policies', 'stepgate.yaml'), 'utf8');
  const documents = [
    '  console_blocked: { schema: console-schemas/blocked.json, default: [] }',
    '  console_limits: { schema: console-schemas/limits.json, default: { key-a: 10 } }',
    '  console_feed: { schema: console-schemas/feed.json, default: [] }',
  ].join('\n');
  const signal =
    '  console_failures: { event: console_login_failed, window: 1h, aggregate: count }';
  expect(example).toMatch(/^liveData:\s*$/m);
  expect(example).toMatch(/^signals:\s*$/m);
  return `${example
    .replace(/^liveData:\s*$/m, `liveData:\n${documents}`)
    .replace(/^signals:\s*$/m, `signals:\n${signal}`)}
dataSources:
  - name: console_feed
    url: ${feedUrl}
    every: 1h
    format: lines
`;
}

async function effect(ip: string): Promise<string | undefined> {
  const reply = await fleet.agent.decide({
    principal: { id: 'alice' },
    action: 'console-live:read',
    resource: { kind: 'doc', id: 'readme' },
    context: { ip },
  });
  return (reply.body as { effect?: string }).effect;
}

async function documentValue(name: string): Promise<unknown> {
  const response = await api(fleet.cp.url, fleet.cp.adminToken, 'GET', `/v1/data/${name}`);
  expect(response.status).toBe(200);
  return response.body.value;
}

/** Fills the editor of the open document and writes it. */
async function write(page: Page, value: string, reason: string, button: string): Promise<void> {
  await page.getByLabel(/New value \(JSON\)|Value of the key \(JSON\)/).fill(value);
  await page.getByLabel(/^Reason/).fill(reason);
  await page.getByRole('button', { name: button }).click();
}

beforeAll(async () => {
  feed = createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'text/plain' }).end('; feed\n192.0.2.1/32\n'),
  );
  await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
  const feedUrl = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/drop.txt`;
  [fleet, browser] = await Promise.all([
    startConsoleFleet({
      name: 'console-live-data',
      people: { olivia: ['operator'], siem: ['events'] },
      policies: {
        'stepgate.yaml': settings(feedUrl),
        'console-schemas/blocked.json': BLOCKED_SCHEMA,
        'console-schemas/limits.json': LIMITS_SCHEMA,
        'console-schemas/feed.json': FEED_SCHEMA,
        'console/live.yaml': POLICY,
      },
      message: 'console: live data',
      env: { STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS: '127.0.0.0/8' },
    }),
    launchChromium(),
  ]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await killAllAgents();
  await fleet?.cp.destroy();
  removeTempDirs();
  await new Promise((resolve) => feed?.close(resolve));
});

describe('the live data and signals page', () => {
  it('edits a document with a reason: the agent decides with it and the audit log keeps the reason; a schema violation changes nothing', async () => {
    await expect.poll(() => effect(BLOCKED_IP), { timeout: 60_000 }).toBe('allow');
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.getByRole('link', { name: 'Live data and signals' }).click();
    await page.getByRole('heading', { level: 1, name: 'Live data and signals' }).waitFor();
    await page.getByRole('link', { name: 'console_blocked' }).click();
    await page.getByRole('heading', { level: 1, name: 'Live data console_blocked' }).waitFor();

    // Not JSON: said inline, nothing can be sent.
    await page.getByLabel('New value (JSON)').fill('["203.0.113.77",');
    await expect
      .poll(() => page.locator('.json-error').textContent(), PAGE)
      .toMatch(/^Not valid JSON/);
    await page.getByLabel(/^Reason/).fill('typo');
    expect(await page.getByRole('button', { name: 'Replace the document' }).isDisabled()).toBe(
      true,
    );

    // JSON the schema refuses: the API's message and the path, and nothing changed.
    await write(page, `["${BLOCKED_IP}", 42]`, 'a typo', 'Replace the document');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), PAGE).toContain('does not match its JSON Schema');
    expect(await alert.textContent()).toContain('nothing was changed');
    expect(await page.getByRole('list', { name: 'Schema violations' }).textContent()).toContain(
      '/1: must be string',
    );
    expect(await documentValue('console_blocked')).toEqual([]);
    expect(await effect(BLOCKED_IP)).toBe('allow');

    // A valid edit with a reason: the agent denies the address within seconds.
    await write(page, `["${BLOCKED_IP}"]`, REASON, 'Replace the document');
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Written' }).textContent(), PAGE)
      .toMatch(/Written at data revision \d+/);
    await expect.poll(() => effect(BLOCKED_IP), { timeout: 30_000 }).toBe('deny');
    expect(await effect('198.51.100.1')).toBe('allow');
    await expect
      .poll(() => page.locator('pre.live-data-value').textContent(), PAGE)
      .toContain(BLOCKED_IP);
    const history = page.getByRole('table', { name: 'Writes of console_blocked' });
    await expect.poll(() => history.textContent(), PAGE).toContain(REASON);

    const audit = await api(
      fleet.cp.url,
      fleet.cp.adminToken,
      'GET',
      '/v1/audit?action=data.put&limit=10',
    );
    expect(audit.status).toBe(200);
    const written = (audit.body.events as { target: string; reason: string; actor: string }[]).find(
      (event) => event.target === 'data/console_blocked',
    );
    expect(written).toMatchObject({ reason: REASON, actor: 'token:e2e-olivia' });

    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'live-data-document');
    expectNoProblems(problems);
    await page.context().close();
  }, 120_000);

  it('sets one key of an object document and removes another', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.goto(`${fleet.consoleUrl}/live-data/console_limits`);
    await page.getByRole('heading', { level: 1, name: 'Live data console_limits' }).waitFor();
    await page.getByLabel('Set one key').check();
    await page.getByLabel('Key', { exact: true }).fill('key-b');
    await write(page, '25', 'new customer key-b', 'Set the key');
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Written' }).textContent(), PAGE)
      .toContain('changed /key-b');
    expect(await documentValue('console_limits')).toEqual({ 'key-a': 10, 'key-b': 25 });
    await page.getByLabel('Remove one key').check();
    await page.getByLabel('Key', { exact: true }).fill('key-a');
    await page.getByLabel(/^Reason/).fill('key-a retired');
    await page.getByRole('button', { name: 'Remove the key' }).click();
    await expect.poll(() => documentValue('console_limits'), PAGE).toEqual({ 'key-b': 25 });
    expectNoProblems(problems);
    await page.context().close();
  }, 120_000);

  it('shows a document fed by a data source as read-only, naming the source and its last fetch', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.goto(`${fleet.consoleUrl}/live-data/console_feed`);
    await page.getByRole('heading', { level: 1, name: 'Live data console_feed' }).waitFor();
    const note = page.getByRole('note');
    await expect.poll(() => note.textContent(), { timeout: 30_000 }).toContain('Read-only');
    expect(await note.textContent()).toContain('/drop.txt');
    expect(await page.getByLabel('New value (JSON)').count()).toBe(0);
    // The feed's value arrives (the first fetch runs at start-up).
    await expect
      .poll(() => page.locator('pre.live-data-value').textContent(), { timeout: 30_000 })
      .toContain('192.0.2.1/32');
    expectNoProblems(problems);
    await page.context().close();
  }, 120_000);

  it("looks up a subject's signals after events were posted", async () => {
    const posted = await fetch(`${fleet.cp.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fleet.tokens.siem}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        { type: 'console_login_failed', subject: 'mallory@example.com' },
        { type: 'console_login_failed', subject: 'mallory@example.com' },
      ]),
    });
    expect(posted.status, await posted.text()).toBe(200);
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.goto(`${fleet.consoleUrl}/live-data`);
    await page.getByLabel('Subject (principal id)').fill('mallory@example.com');
    await page.getByRole('button', { name: 'Look up' }).click();
    const row = page
      .getByRole('table', { name: 'Signals of mallory@example.com' })
      .getByRole('row', { name: /console_failures/ });
    await expect.poll(() => row.textContent(), PAGE).toContain('count');
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells[0]).toBe('2');
    expect(cells).toContain('1 h');
    // The data source's row names its status.
    const sources = page.getByRole('table', { name: 'Data sources' });
    await expect.poll(() => sources.textContent(), PAGE).toContain('console_feed');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'live-data');
    expectNoProblems(problems);
    await page.context().close();
  }, 120_000);
});
