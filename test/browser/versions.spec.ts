/**
 * The console's Versions page (issue 15) in a real Chromium against a real control plane and
 * agent: the history lists every pushed version, a version's diff shows the changed policy file
 * line by line with +/- signs, and a rollback with a reason changes the active version, which
 * the agent then enforces (its decision changes) and the audit log keeps with the reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cloneEmbedded,
  enrolTotp,
  pushPolicies,
  totpCode,
} from '../integration/control-plane/step-up-support.js';
import { commit, git, waitForVersion } from '../integration/control-plane/support.js';
import { api, getOk, killAllAgents, removeTempDirs, tempDir, waitFor } from '../e2e/support.js';
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

const FILE = 'console/versions.yaml';
const READERS_ALLOWED = `apiVersion: stepgate/v1
kind: Policy
name: console-versions
target:
  actions: ["ver:*"]
rules:
  - name: readers
    effect: allow
    when: action == "ver:read"
`;
const READERS_DENIED = READERS_ALLOWED.replace('effect: allow', 'effect: deny');

/** The active policies protect rollbacks: the console must ask for a step-up first. */
const PROTECTION = `apiVersion: stepgate/v1
kind: Policy
name: protect-rollback
target:
  actions: ["stepgate:rollback"]
rules:
  - name: fresh-mfa-to-roll-back
    effect: step_up
    when: action == "stepgate:rollback"
    require: { level: mfa, maxAge: 10m }
`;

const read = (principal: string) => ({
  principal: { id: principal },
  action: 'ver:read',
  resource: { kind: 'doc', id: 'a' },
});
/** Traffic decided under the first version, for the second version's replay to change. */
const READERS = ['alice', 'bob', 'carol'];

/** The page answers once the API did: generous on a busy machine (expect.poll's default is 1 s). */
const POLL = { timeout: 60_000 };

let fleet: ConsoleFleet;
let browser: Browser;
/** The version before the suite's first push (the example policies the repository starts with). */
let seed: number;
let first: number;
let second: number;
/** A clone of the embedded repository to push from. */
let clone: string;

async function agentEffect(): Promise<string | undefined> {
  return ((await fleet.agent.decide(read('alice'))).body as { effect?: string }).effect;
}

beforeAll(async () => {
  [fleet, browser] = await Promise.all([
    startConsoleFleet({
      name: 'console-versions',
      people: { olivia: ['operator'] },
      policies: { [FILE]: READERS_ALLOWED, 'stepgate/protect-rollback.yaml': PROTECTION },
      message: 'versions: readers may read',
    }),
    launchChromium(),
  ]);
  const versions = await api(fleet.cp.url, fleet.cp.adminToken, 'GET', '/v1/versions?limit=2');
  [first, seed] = (versions.body.versions as { number: number }[]).map((v) => v.number) as [
    number,
    number,
  ];
  for (const principal of READERS) {
    const reply = await fleet.agent.decide(read(principal));
    expect(reply.body.effect, JSON.stringify(reply.body)).toBe('allow');
  }
  await waitFor(
    'the agent to ship the readers decisions',
    async () =>
      (await getOk(fleet.cp, fleet.cp.adminToken, '/v1/decisions?action=ver:read')).decisions
        .length === READERS.length,
    60_000,
  );
  clone = tempDir('console-versions-clone');
  await cloneEmbedded(fleet.cp, clone);
  const pushed = await pushPolicies(
    fleet.cp,
    clone,
    { [FILE]: READERS_DENIED },
    'versions: readers may not read',
  );
  second = pushed.number;
  await waitFor('the agent to deny a read under the second version', async () => {
    return (await agentEffect()) === 'deny';
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await killAllAgents();
  await fleet?.cp.destroy();
  removeTempDirs();
});

describe('the Versions page', () => {
  it('lists the history and shows the diff between two versions with +/- lines', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.goto(`${fleet.consoleUrl}/versions`);
    const table = page.getByRole('table', { name: 'Policy versions, newest first' });
    for (const number of [first, second])
      await table.getByRole('link', { name: `Version ${number}`, exact: true }).waitFor();
    const secondRow = table.getByRole('row').filter({ hasText: `Version ${second}` });
    expect(await secondRow.textContent()).toContain('active');
    expect(await secondRow.textContent()).toContain('versions: readers may not read');
    await page.waitForLoadState('networkidle');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'versions');

    await table.getByRole('link', { name: `Version ${second}`, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: `Version ${second}` }).waitFor();
    // Its replay over the readers' traffic: every read now denied.
    await expect
      .poll(() => page.locator('main').textContent(), POLL)
      .toContain(`${READERS.length} of ${READERS.length} replayed decisions change`);
    const byChange = page.getByRole('table', { name: 'By change' });
    expect(await byChange.getByRole('row', { name: /allow -> deny/ }).textContent()).toContain(
      String(READERS.length),
    );
    await page.getByRole('table', { name: 'By principal' }).getByText('carol').waitFor();
    const file = page.getByRole('region', { name: `${FILE} (modified)` });
    await file.getByRole('table').waitFor();
    // The default comparison is the previous version.
    expect(await page.locator('.diff-view .summary').textContent()).toContain(
      `Version ${first} → version ${second}: 1 file changed.`,
    );
    const added = file.locator('tr.diff-add');
    const removed = file.locator('tr.diff-remove');
    expect(await added.count()).toBe(1);
    expect(await removed.count()).toBe(1);
    // The sign is in the text, not only in the colour.
    expect((await added.locator('.diff-text').textContent())?.trim()).toBe('+    effect: deny');
    expect((await removed.locator('.diff-text').textContent())?.trim()).toBe('-    effect: allow');
    await page.waitForLoadState('networkidle');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'version-diff');
    // Against the seed version (before the policy existed) the file is added, every line a +.
    await page.getByLabel('Compare with').selectOption(String(seed));
    await expect
      .poll(() => page.locator('.diff-view .summary').textContent(), POLL)
      .toContain(`Version ${seed} → version ${second}`);
    const whole = page.getByRole('region', { name: `${FILE} (added)` });
    await whole.getByRole('table').waitFor();
    expect(await whole.locator('tr.diff-remove').count()).toBe(0);
    expect(await whole.locator('tr.diff-add').count()).toBe(
      READERS_DENIED.trim().split('\n').length,
    );
    expectNoProblems(problems);
    await page.context().close();
  }, 180_000);

  it('rolls back with a reason after a step-up: the active version changes, the agent follows, the audit log keeps the reason', async () => {
    const device = await enrolTotp(fleet.cp, fleet.tokens.olivia as string, 'olivia');
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.goto(`${fleet.consoleUrl}/versions`);
    await page.getByRole('link', { name: `Version ${second}`, exact: true }).waitFor();
    await page.getByRole('button', { name: 'Roll back to the previous version' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back' });
    const reason = 'console test: readers must read again';
    await dialog.getByLabel('Reason (kept in the audit log)').fill(reason);
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    // The active policies ask for fresh MFA: the step-up dialog opens, the rollback then retries.
    const stepUp = page.getByRole('dialog', { name: 'Step-up required' });
    await stepUp.getByLabel('Or a code from your authenticator app').fill(await totpCode(device));
    await stepUp.getByRole('button', { name: 'Verify code' }).click();
    await expect
      .poll(() => page.locator('.version-notice').textContent(), POLL)
      .toContain(`Rolled back: version ${first} is active`);
    const firstRow = page
      .getByRole('table', { name: 'Policy versions, newest first' })
      .getByRole('row')
      .filter({ hasText: `Version ${first}` });
    await expect.poll(() => firstRow.textContent(), POLL).toContain('active');

    const fleetView = await api(fleet.cp.url, fleet.cp.adminToken, 'GET', '/v1/fleet');
    const activeRevision = fleetView.body.activeRevision as number;
    await waitFor('the agent to enforce the rolled-back revision', async () => {
      const ready = await fleet.agent.readyz();
      return ready.status === 200 && ready.body.revision === activeRevision;
    });
    expect(await agentEffect()).toBe('allow');

    const audit = await api(
      fleet.cp.url,
      fleet.cp.adminToken,
      'GET',
      '/v1/audit?action=version.rollback&limit=10',
    );
    expect(audit.status).toBe(200);
    const rollback = (audit.body.events as { reason: string | null; details: any }[]).find(
      (event) => event.reason === reason,
    );
    expect(rollback, JSON.stringify(audit.body.events)).toBeDefined();
    expect(rollback?.details.revision).toBe(activeRevision);
    expectNoProblems(problems);
    await page.context().close();
  }, 180_000);

  it('shows why the activation gate holds a version and activates it with a reason; shadows the replaced one and stops the shadow', async () => {
    // The readers lose access again, now under a 1% gate: the replay of their reads holds it.
    const settings = readFileSync(join(clone, 'stepgate.yaml'), 'utf8');
    const sha = await commit(
      clone,
      {
        [FILE]: READERS_DENIED.replace('name: readers', 'name: readers-held'),
        'stepgate.yaml': `${settings.trimEnd()}\nactivation:\n  maxChanged: "1%"\n`,
      },
      'versions: readers may not read, gated',
    );
    const push = await git(['push', '--quiet', 'origin', 'main'], clone);
    expect(push.status, push.stderr).toBe(0);
    const held = (await waitForVersion(fleet.cp, sha, (v) => v.status === 'ready', 120_000)).number;
    await waitFor(
      'the activation gate to hold the version',
      async () =>
        (await getOk(fleet.cp, fleet.cp.adminToken, `/v1/versions/${held}`)).activationHeld !==
        null,
      120_000,
    );

    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.olivia as string);
    await page.goto(`${fleet.consoleUrl}/versions/${held}`);
    await page.getByRole('heading', { level: 1, name: `Version ${held}` }).waitFor();
    await expect
      .poll(() => page.locator('.held-notice').textContent(), POLL)
      .toContain('Held by the activation gate');
    expect(await page.locator('.held-notice').textContent()).toContain('the limit is 1%');

    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: `Activate version ${held}` });
    expect(await dialog.textContent()).toContain('The activation gate holds this version');
    expect(await seriousViolations(page)).toEqual([]);
    const reason = 'console test: the readers lose access on purpose';
    await dialog.getByLabel('Reason (kept in the audit log)').fill(reason);
    await dialog.getByRole('button', { name: 'Activate' }).click();
    await expect
      .poll(() => page.locator('.version-notice').textContent(), POLL)
      .toContain(`Version ${held} is active`);
    // Active now: the hold is gone and the agent enforces it.
    await expect.poll(() => page.locator('.held-notice').count(), POLL).toBe(0);
    const fleetView = await getOk(fleet.cp, fleet.cp.adminToken, '/v1/fleet');
    await waitFor('the agent to enforce the activated revision', async () => {
      const ready = await fleet.agent.readyz();
      return ready.status === 200 && ready.body.revision === fleetView.activeRevision;
    });
    expect(await agentEffect()).toBe('deny');

    // The version it replaced can run in shadow beside it; the history page stops the shadow.
    await page.goto(`${fleet.consoleUrl}/versions/${first}`);
    await page.getByRole('button', { name: 'Shadow this version' }).click();
    const shadowDialog = page.getByRole('dialog', { name: `Shadow version ${first}` });
    await shadowDialog.getByLabel('Reason (kept in the audit log)').fill('compare first');
    await shadowDialog.getByRole('button', { name: 'Start shadow' }).click();
    await expect
      .poll(() => page.locator('.version-notice').textContent(), POLL)
      .toContain(`Version ${first} is the shadow version`);
    await page.getByRole('link', { name: 'All versions' }).click();
    const firstRow = page
      .getByRole('table', { name: 'Policy versions, newest first' })
      .getByRole('row')
      .filter({ hasText: `Version ${first}` });
    await expect.poll(() => firstRow.textContent(), POLL).toContain('shadow');
    expect(await page.locator('.summary').textContent()).toContain(`version ${first} in shadow`);
    await page.getByRole('button', { name: 'Stop shadow' }).click();
    const stopDialog = page.getByRole('dialog', { name: 'Stop the shadow version' });
    await stopDialog.getByLabel('Reason (kept in the audit log)').fill('compared enough');
    await stopDialog.getByRole('button', { name: 'Stop shadow' }).click();
    await expect
      .poll(() => page.locator('.version-notice').textContent(), POLL)
      .toContain('No shadow version any more');
    await expect.poll(() => firstRow.textContent(), POLL).not.toContain('shadow');

    const audit = await getOk(fleet.cp, fleet.cp.adminToken, '/v1/audit?action=version.*&limit=20');
    const actions = (audit.events as { action: string; reason: string | null }[]).map(
      (event) => `${event.action}: ${event.reason}`,
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        `version.activate: ${reason}`,
        'version.shadow_set: compare first',
        'version.shadow_clear: compared enough',
      ]),
    );
    expectNoProblems(problems);
    await page.context().close();
  }, 300_000);
});
