/**
 * Risk signals on the control plane (issue 13, items 3 and 5): two real control-plane replicas
 * on one PostgreSQL database and one Redis prefix, a policy repository declaring signals (the
 * example's failed_logins and new_device, plus a `last`, a `distinct` and a 2-second count),
 * `POST /v1/events` in every form, `GET /v1/signals/{subject}`, and the signed `signals`
 * messages a socket.io client holding an agent token receives, verified against the JWKS.
 */
import { randomUUID } from 'node:crypto';
import {
  AGENT_NAMESPACE,
  verifySignalsMessage,
  type AgentToServerEvents,
  type BundleJwks,
  type ServerToAgentEvents,
  type SignalsMessage,
  type SignalsPayload,
} from '@stepgate/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { agentTokenFor } from '../agents/support.js';
import { cloneEmbedded, pushPolicies } from './step-up-support.js';
import {
  api,
  createToken,
  ensureControlPlaneBuilt,
  metricValue,
  readText,
  tempDirs,
} from './support.js';

/** Low, so the rate-limit case needs few events; the other cases use tokens of their own. */
const RATE_LIMIT = 30;
const ENV = { STEPGATE_EVENTS_RATE_LIMIT: String(RATE_LIMIT) };
const EXTRA_SIGNALS = [
  '  last_country: { event: login, window: 1h, aggregate: last, field: country }',
  '  countries: { event: login, window: 1h, aggregate: distinct, field: country }',
  '  burst: { event: burst, window: 2s, aggregate: count }',
].join('\n');

const temp = tempDirs();
let a: ControlPlaneProcess;
let b: ControlPlaneProcess;
let viewer: string;
let keys: BundleJwks;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function post(
  cp: ControlPlaneProcess,
  token: string,
  body: unknown,
  type = 'application/json',
): Promise<Answer> {
  const response = await fetch(`${cp.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

async function signalsOf(subject: string, cp = a): Promise<Record<string, any>> {
  const got = await api(cp.url, viewer, 'GET', `/v1/signals/${encodeURIComponent(subject)}`);
  if (got.status !== 200) throw new Error(`GET signals: ${got.status} ${JSON.stringify(got.body)}`);
  expect(got.body.subject).toBe(subject);
  return got.body.signals;
}

const eventsToken = async (name: string) => (await createToken(a, name, ['events'])).token;
const subject = (what: string) => `user/${what}-${randomUUID().slice(0, 8)}@example.com`;

/** A socket.io client holding an agent token that records every `signals` message, verified. */
class SignalsListener {
  readonly payloads: SignalsPayload[] = [];
  readonly failures: string[] = [];
  constructor(readonly socket: Socket<ServerToAgentEvents, AgentToServerEvents>) {
    socket.on('signals', (message: SignalsMessage) => {
      verifySignalsMessage(message, keys).then(
        (payload) => this.payloads.push(payload),
        (error: Error) => this.failures.push(error.message),
      );
    });
  }

  /** The value of (subject, name) in the latest message that lists it. */
  latest(subjectId: string, name: string) {
    for (let i = this.payloads.length - 1; i >= 0; i--) {
      const found = this.payloads[i]?.values.find(
        (v) => v.subject === subjectId && v.name === name,
      );
      if (found) return found;
    }
    return undefined;
  }

  close(): void {
    this.socket.disconnect();
  }
}

async function listen(cp: ControlPlaneProcess, agentId: string): Promise<SignalsListener> {
  const socket = io(`${cp.url}${AGENT_NAMESPACE}`, {
    auth: { token: await agentTokenFor(cp, agentId), agentId, labels: {}, revisions: {} },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 20_000,
  }) as Socket<ServerToAgentEvents, AgentToServerEvents>;
  // Listening before the connection completes, so the snapshot sent on connect is not missed.
  const listener = new SignalsListener(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(error));
  });
  return listener;
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  a = await startControlPlane(ENV);
  b = await startControlPlane(ENV, { replicaOf: a });
  const work = temp.make('signals');
  await cloneEmbedded(a, work);
  const settings = readText(work, 'stepgate.yaml');
  if (!/^signals:[ \t]*$/m.test(settings)) throw new Error('the example declares no signals:');
  await pushPolicies(
    a,
    work,
    {
      'stepgate.yaml': settings.replace(
        /^signals:[ \t]*\n/m,
        (line) => `${line}${EXTRA_SIGNALS}\n`,
      ),
    },
    'Declare more signals',
  );
  viewer = (await createToken(a, 'signals-viewer', ['viewer'])).token;
  keys = (await api(a.url, undefined, 'GET', '/v1/keys')).body as BundleJwks;
  // The new version's signals reach both replicas within a second (they re-read the active one).
  for (const cp of [a, b])
    await waitFor(
      `${cp.url} to see the new signals`,
      async () => 'burst' in (await signalsOf('x', cp)),
    );
}, 400_000);

afterAll(async () => {
  await b?.destroy();
  await a?.destroy();
  temp.cleanup();
});

describe('POST /v1/events and GET /v1/signals/{subject}', () => {
  it('counts plain events: 3 login_failed make failed_logins 3; every declared signal is listed', async () => {
    const token = await eventsToken('idp-plain');
    const who = subject('alice');
    const before = await signalsOf(who);
    expect(before).toMatchObject({
      failed_logins: {
        event: 'login_failed',
        aggregate: 'count',
        window: 3600,
        value: 0,
        expiresAt: null,
      },
      new_device: { event: 'new_device', aggregate: 'exists', window: 86_400, value: false },
      last_country: { aggregate: 'last', field: 'country', value: null },
      countries: { aggregate: 'distinct', value: 0 },
      burst: { window: 2, value: 0 },
    });
    const one = await post(a, token, { type: 'login_failed', subject: who });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body).toEqual({ accepted: 1, duplicates: 0, updated: 1 });
    const two = await post(a, token, [
      { type: 'login_failed', subject: who, time: new Date(Date.now() - 60_000).toISOString() },
      { type: 'login_failed', subject: who, data: { ip: '203.0.113.7' } },
      { type: 'page_view', subject: who },
    ]);
    expect(two.body).toEqual({ accepted: 3, duplicates: 0, updated: 1 });
    const after = await signalsOf(who);
    expect(after.failed_logins.value).toBe(3);
    expect(Date.parse(after.failed_logins.expiresAt)).toBeGreaterThan(Date.now() + 3_500_000);
    // The same values through the other replica.
    expect((await signalsOf(who, b)).failed_logins.value).toBe(3);
  });

  it('takes CloudEvents 1.0: one, a batch, and mixed with plain events in a JSON array', async () => {
    const token = await eventsToken('idp-cloud');
    const who = subject('bob');
    const cloud = (id: string, type: string, data: Record<string, unknown> = {}) => ({
      specversion: '1.0',
      id,
      source: 'https://idp.example.com/logs',
      type,
      subject: who,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data,
      // An extension attribute: allowed by the spec, ignored here.
      idpregion: 'eu',
    });
    const single = await post(a, token, cloud('c1', 'new_device'), 'application/cloudevents+json');
    expect(single.status, JSON.stringify(single.body)).toBe(200);
    const batch = await post(
      a,
      token,
      [cloud('c2', 'login', { country: 'FR' }), cloud('c3', 'login', { country: 'DE' })],
      'application/cloudevents-batch+json',
    );
    expect(batch.body).toMatchObject({ accepted: 2, duplicates: 0 });
    const mixed = await post(a, token, {
      events: [{ type: 'login', subject: who, attributes: { country: 'DE' } }],
    });
    expect(mixed.body).toMatchObject({ accepted: 1 });
    const values = await signalsOf(who);
    expect(values.new_device.value).toBe(true);
    expect(values.last_country.value).toBe('DE');
    expect(values.countries.value).toBe(2);
  });

  it('refuses a batch with a bad item, naming the item and field, and takes nothing of it', async () => {
    const token = await eventsToken('idp-bad');
    const who = subject('carol');
    const refused = await post(a, token, [
      { type: 'login_failed', subject: who },
      { type: 'login_failed', subject: who },
      { type: 'login_failed', subject: who },
      { type: 'login_failed', subject: '' },
    ]);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('request/invalid');
    expect(refused.body.message).toMatch(/^events\[3\]\.subject: subject must not be empty/);
    expect(refused.body.details).toEqual([
      { path: 'events[3].subject', message: 'subject must not be empty' },
    ]);
    const future = await post(a, token, {
      type: 'login_failed',
      subject: who,
      time: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(future.status).toBe(400);
    expect(future.body.message).toMatch(/^events\[0\]\.time: .*5 minutes ahead/);
    const field = await post(a, token, [
      { type: 'login_failed', subject: who },
      { type: 'login', subject: who, data: { country: ['FR'] } },
    ]);
    expect(field.status).toBe(400);
    expect(field.body.message).toMatch(
      /^events\[1\]\.data\.country: signal "(last_country|countries)"/,
    );
    const cloud = await post(
      a,
      token,
      [{ specversion: '1.0', id: '1', source: 's', type: 'login_failed' }],
      'application/cloudevents-batch+json',
    );
    expect(cloud.body.message).toMatch(/^events\[0\]\.subject: /);
    expect((await post(a, token, 'not json')).status).toBe(400);
    const type = await post(a, token, { type: 'login_failed', subject: who }, 'text/plain');
    expect(type.status).toBe(415);
    const big = await post(a, token, [
      { type: 'login_failed', subject: who, data: { pad: 'x'.repeat(1024 * 1024) } },
    ]);
    expect(big.status).toBe(413);
    expect((await signalsOf(who)).failed_logins.value).toBe(0);
  });

  it('needs the events scope to post (admin holds all), and viewer or operator to read', async () => {
    const who = subject('dave');
    const refused = await post(a, viewer, { type: 'login_failed', subject: who });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('auth/forbidden');
    const events = await eventsToken('idp-scope');
    const read = await api(a.url, events, 'GET', `/v1/signals/${encodeURIComponent(who)}`);
    expect(read.status).toBe(403);
    expect((await post(a, a.adminToken, { type: 'login_failed', subject: who })).status).toBe(200);
    const operator = (await createToken(a, 'signals-operator', ['operator'])).token;
    const got = await api(a.url, operator, 'GET', `/v1/signals/${encodeURIComponent(who)}`);
    expect(got.body.signals.failed_logins.value).toBe(1);
    expect((await api(a.url, undefined, 'GET', '/v1/signals/x')).status).toBe(401);
  });

  it('counts an event id once: retried, repeated in a batch, or posted to both replicas at once', async () => {
    const token = await eventsToken('idp-dedupe');
    const who = subject('erin');
    const first = await post(a, token, [
      { type: 'login_failed', subject: who, id: 'evt-1' },
      { type: 'login_failed', subject: who, id: 'evt-1' },
    ]);
    expect(first.body).toEqual({ accepted: 2, duplicates: 1, updated: 1 });
    expect(
      (await post(a, token, { type: 'login_failed', subject: who, id: 'evt-1' })).body,
    ).toEqual({
      accepted: 1,
      duplicates: 1,
      updated: 0,
    });
    // One event, delivered to both replicas at the same moment (an at-least-once sender).
    const event = { type: 'login_failed', subject: who, id: 'evt-2' };
    const [onA, onB] = await Promise.all([post(a, token, event), post(b, token, event)]);
    expect(onA.status).toBe(200);
    expect(onB.status).toBe(200);
    expect(onA.body.duplicates + onB.body.duplicates).toBe(1);
    // A CloudEvent's key is source + id: the same id from another source is another event.
    const cloud = { specversion: '1.0', id: 'evt-2', type: 'login_failed', subject: who };
    await post(a, token, { ...cloud, source: 'idp-1' }, 'application/cloudevents+json');
    await post(b, token, { ...cloud, source: 'idp-1' }, 'application/cloudevents+json');
    await post(b, token, { ...cloud, source: 'idp-2' }, 'application/cloudevents+json');
    expect((await signalsOf(who)).failed_logins.value).toBe(4);
  });

  it('limits events per token per second across replicas: 429 with Retry-After, counted in /metrics', async () => {
    const token = await eventsToken('idp-flood');
    const other = await eventsToken('idp-calm');
    const who = subject('flood');
    const batch = (n: number) =>
      Array.from({ length: n }, () => ({ type: 'page_view', subject: who }));
    // Each replica counts its own refusals: the two together.
    const refusals = async () =>
      (await metricValue(a.url, 'stepgate_events_rate_limited_total')) +
      (await metricValue(b.url, 'stepgate_events_rate_limited_total'));
    const before = await refusals();
    // Whichever replica: one allowance. Retried until one second holds all three requests.
    let refused: Answer | undefined;
    await waitFor(
      'a request past the limit to be refused',
      async () => {
        const answers = [
          await post(a, token, batch(RATE_LIMIT - 10)),
          await post(b, token, batch(10)),
          await post(a, token, batch(1)),
        ];
        refused = answers.find((answer) => answer.status === 429);
        return refused !== undefined;
      },
      30_000,
      0,
    );
    expect(refused?.body.error).toBe('events/rate_limited');
    expect(refused?.body.message).toContain('STEPGATE_EVENTS_RATE_LIMIT');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another token has its own allowance.
    expect((await post(a, other, batch(RATE_LIMIT))).status).toBe(200);
    const tooBig = await post(b, other, batch(RATE_LIMIT + 1));
    expect(tooBig.status).toBe(429);
    expect(tooBig.body.message).toContain('send smaller batches');
    await waitFor('the refusal counted in /metrics', async () => (await refusals()) >= before + 2);
  });
});

describe('windows and agents, across two replicas', () => {
  const listeners: SignalsListener[] = [];
  afterAll(() => listeners.forEach((listener) => listener.close()));

  it('a value changed through replica A reaches an agent on replica B, signed; it expires back to zero', async () => {
    const token = await eventsToken('idp-push');
    const onB = await listen(b, 'signals-agent-b');
    listeners.push(onB);
    const who = subject('frank');
    const posted = await post(a, token, [
      { type: 'burst', subject: who },
      { type: 'burst', subject: who },
      { type: 'login_failed', subject: who },
    ]);
    expect(posted.body).toMatchObject({ accepted: 3, updated: 2 });
    await waitFor(
      'agent on B to get burst = 2',
      () => onB.latest(who, 'burst')?.value === 2,
      15_000,
      20,
    );
    const pushed = onB.latest(who, 'burst')!;
    expect(pushed.expiresAt).toBeGreaterThan(Date.now());
    expect(pushed.expiresAt).toBeLessThanOrEqual(Date.now() + 2000);
    expect(onB.latest(who, 'failed_logins')?.value).toBe(1);
    expect(onB.failures).toEqual([]);
    // The 2-second window passes: the value falls to zero on the control plane and the agent
    // is told (a zero value, expired, so it drops what it held).
    await waitFor(
      'burst back to 0',
      async () => (await signalsOf(who)).burst.value === 0,
      20_000,
      200,
    );
    await waitFor(
      'agent on B to get burst = 0',
      () => onB.latest(who, 'burst')?.value === 0,
      15_000,
      20,
    );
    const zero = onB.latest(who, 'burst')!;
    expect(zero.seq).toBeGreaterThan(pushed.seq);
    expect(zero.expiresAt).toBeLessThanOrEqual(Date.now());
    // Sequence numbers only grow, across both replicas' messages.
    const seqs = onB.payloads.filter((p) => !p.snapshot).map((p) => p.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(await metricValue(a.url, 'stepgate_signal_values_pushed_total')).toBeGreaterThan(0);
  });

  it('an agent connecting gets a signed snapshot of every current value', async () => {
    const token = await eventsToken('idp-snapshot');
    const who = subject('grace');
    await post(b, token, [
      { type: 'login_failed', subject: who },
      { type: 'new_device', subject: who },
      { type: 'login', subject: who, data: { country: 'NL' } },
    ]);
    const onA = await listen(a, 'signals-agent-a');
    listeners.push(onA);
    await waitFor('a snapshot', () => onA.payloads.some((p) => p.snapshot), 20_000, 20);
    const snapshot = onA.payloads.find((p) => p.snapshot)!;
    const mine = snapshot.values
      .filter((v) => v.subject === who)
      .map((v) => `${v.name}=${String(v.value)}`)
      .sort();
    expect(mine).toEqual(['countries=1', 'failed_logins=1', 'last_country=NL', 'new_device=true']);
    expect(snapshot.seq).toBeGreaterThan(0);
    for (const value of snapshot.values) expect(value.expiresAt).toBeGreaterThan(Date.now() - 5000);
    expect(onA.failures).toEqual([]);
  });
});
