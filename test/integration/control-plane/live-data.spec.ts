/**
 * Live data through the admin API (issue 13): a real control plane with PostgreSQL and Redis,
 * a policy repository pushed to its embedded Git repository that declares three live documents
 * (a list, an object, a switch), and every kind of write: whole, merge patch, reset, one key.
 * Each write needs a reason and the data (or operator) scope, is validated against the declared
 * schema (a refused write changes nothing, the revision included), audited, and gets the next
 * data revision, without gaps under concurrent writers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { api, createToken, ensureControlPlaneBuilt, readText, tempDirs } from './support.js';
import { cloneEmbedded, pushPolicies } from './step-up-support.js';

const SCHEMAS = {
  'live-schemas/blocked-ips.json': JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'array',
    items: { type: 'string', pattern: '^[0-9a-f.:]+/[0-9]{1,3}$' },
    maxItems: 1000,
  }),
  'live-schemas/rate-limits.json': JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: { type: 'integer', minimum: 0 },
  }),
  'live-schemas/freeze.json': JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'boolean',
  }),
};

/** The documents this suite declares (beside any the example repository declares). */
const DOCUMENTS = {
  blocked_ranges: '    schema: live-schemas/blocked-ips.json\n    default: []\n',
  rate_limits: '    schema: live-schemas/rate-limits.json\n    default: {}\n',
  freeze: '    schema: live-schemas/freeze.json\n    default: false\n',
};
const MINE = Object.keys(DOCUMENTS).sort();

/** `settings` (the example's stepgate.yaml) declaring `names` too, under its liveData: if any. */
function withLiveData(settings: string, names: (keyof typeof DOCUMENTS)[]): string {
  const entries = names.map((name) => `  ${name}:\n${DOCUMENTS[name]}`).join('');
  return /^liveData:[ \t]*$/m.test(settings)
    ? settings.replace(/^liveData:[ \t]*\n/m, (line) => `${line}${entries}`)
    : `${settings}\nliveData:\n${entries}`;
}

const temp = tempDirs();
let cp: ControlPlaneProcess;
let work: string;
let settings: string;
let viewer: string;
let writer: string;

interface Answer {
  status: number;
  body: any;
}

/** A write as curl would send it: the value as the body, the reason in its header. */
async function write(
  method: 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  value: unknown,
  options: {
    token?: string;
    reason?: string | null;
    type?: string;
    raw?: string;
    /** Another replica's URL (default: the first control plane). */
    base?: string;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.token ?? writer}`,
  };
  if (options.reason !== null) headers['x-stepgate-reason'] = options.reason ?? 'integration test';
  let body: string | undefined;
  if (value !== undefined || options.raw !== undefined) {
    body = options.raw ?? JSON.stringify(value);
    headers['content-type'] = options.type ?? 'application/json';
  }
  const response = await fetch(`${options.base ?? cp.url}/v1/data${path}`, {
    method,
    headers,
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const read = (path: string, token = viewer) => api(cp.url, token, 'GET', `/v1/data${path}`);
const revisionNow = async () => (await read('')).body.revision as number;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  work = temp.make('live-data');
  await cloneEmbedded(cp, work);
  settings = readText(work, 'stepgate.yaml');
  await pushPolicies(
    cp,
    work,
    {
      ...SCHEMAS,
      'stepgate.yaml': withLiveData(settings, ['blocked_ranges', 'rate_limits', 'freeze']),
    },
    'Declare live data',
  );
  viewer = (await createToken(cp, 'live-viewer', ['viewer'])).token;
  writer = (await createToken(cp, 'live-writer', ['data'])).token;
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

describe('live data', () => {
  it('lists what the active version declares, each at its default before any write', async () => {
    const list = await read('');
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body.revision).toBe(0);
    const names = list.body.documents.map((d: { name: string }) => d.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(MINE));
    expect(
      list.body.documents.find((d: { name: string }) => d.name === 'blocked_ranges'),
    ).toMatchObject({
      name: 'blocked_ranges',
      default: [],
      isDefault: true,
      revision: null,
      schema: { type: 'array' },
    });
    const freeze = await read('/freeze');
    expect(freeze.body).toMatchObject({ name: 'freeze', value: false, isDefault: true });
  });

  it('replaces a document with PUT, and the data scope may write where viewer may not', async () => {
    const before = await revisionNow();
    const refused = await write('PUT', '/blocked_ranges', ['203.0.113.0/24'], { token: viewer });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('auth/forbidden');
    expect(await revisionNow()).toBe(before);

    const put = await write('PUT', '/blocked_ranges', ['203.0.113.0/24'], {
      reason: 'scanner from ticket 4711',
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({
      revision: before + 1,
      name: 'blocked_ranges',
      value: ['203.0.113.0/24'],
      changed: [''],
    });
    const got = await read('/blocked_ranges');
    expect(got.body).toMatchObject({
      value: ['203.0.113.0/24'],
      isDefault: false,
      revision: before + 1,
      dataRevision: before + 1,
      updatedBy: 'token:live-writer',
    });
  });

  it('refuses a write without a reason, and changes nothing', async () => {
    const before = await read('/blocked_ranges');
    for (const reason of [null, '   ']) {
      const refused = await write('PUT', '/blocked_ranges', [], { reason });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('request/invalid');
      expect(refused.body.message).toContain('X-Stepgate-Reason');
    }
    expect((await read('/blocked_ranges')).body).toEqual(before.body);
  });

  it('refuses a value its schema refuses, with every error, and changes nothing', async () => {
    const before = await read('/blocked_ranges');
    const history = await read('/blocked_ranges/history');
    const refused = await write('PUT', '/blocked_ranges', ['203.0.113.0/24', 'not-a-range', 42]);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('data/invalid');
    expect(refused.body.message).toContain('nothing was changed');
    expect(refused.body.details).toEqual(
      expect.arrayContaining([
        { path: '/1', message: expect.stringContaining('pattern') },
        { path: '/2', message: 'must be string' },
      ]),
    );
    const patched = await write(
      'PATCH',
      '/rate_limits',
      { 'key-a': -1 },
      {
        type: 'application/merge-patch+json',
      },
    );
    expect(patched.status).toBe(400);
    expect(patched.body.details).toEqual([{ path: '/key-a', message: 'must be >= 0' }]);
    expect((await read('/blocked_ranges')).body).toEqual(before.body);
    expect((await read('/blocked_ranges/history')).body).toEqual(history.body);
  });

  it('merges an RFC 7396 patch (either content type) and writes one key of an object', async () => {
    const first = await write(
      'PATCH',
      '/rate_limits',
      { 'key-a': 10, 'key-b': 5 },
      {
        type: 'application/merge-patch+json',
      },
    );
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.value).toEqual({ 'key-a': 10, 'key-b': 5 });
    const second = await write('PATCH', '/rate_limits', { 'key-b': null, 'key-c': 1 });
    expect(second.body.value).toEqual({ 'key-a': 10, 'key-c': 1 });
    expect(second.body.changed).toEqual(['/key-b', '/key-c']);
    expect(second.body.revision).toBe(first.body.revision + 1);

    const key = await write('PUT', '/rate_limits/key%2Fd', 7);
    expect(key.status, JSON.stringify(key.body)).toBe(200);
    expect(key.body.value).toEqual({ 'key-a': 10, 'key-c': 1, 'key/d': 7 });
    expect(key.body.changed).toEqual(['/key~1d']);
    const removed = await write('DELETE', '/rate_limits/key-a', undefined);
    expect(removed.body.value).toEqual({ 'key-c': 1, 'key/d': 7 });
    const badKey = await write('PUT', '/rate_limits/key-e', 'many');
    expect(badKey.status).toBe(400);

    const notObject = await write('PUT', '/blocked_ranges/x', '192.0.2.0/24');
    expect(notObject.status).toBe(409);
    expect(notObject.body.error).toBe('data/not_an_object');
    const wrongType = await write('PATCH', '/rate_limits', undefined, {
      raw: 'key-a=1',
      type: 'text/plain',
    });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.message).toContain('application/merge-patch+json');
  });

  it('takes any JSON value as a document and resets it to its default with DELETE', async () => {
    const on = await write('PUT', '/freeze', true, { reason: 'change freeze for the release' });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect((await read('/freeze')).body).toMatchObject({ value: true, isDefault: false });
    const off = await write('DELETE', '/freeze', undefined, { reason: 'release done' });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ value: false, changed: [''], revision: on.body.revision + 1 });
    expect((await read('/freeze')).body).toMatchObject({ value: false, isDefault: true });
  });

  it('answers 404 for a document the active version does not declare, naming those it does', async () => {
    const missing = await read('/blocked_range');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('data/not_found');
    for (const name of MINE) expect(missing.body.message).toContain(`"${name}"`);
    expect((await write('PUT', '/blocked_range', [])).status).toBe(404);
  });

  it('refuses a body past 1 MiB with 413', async () => {
    const before = await revisionNow();
    const huge = await write('PUT', '/blocked_ranges', undefined, {
      raw: JSON.stringify(['x'.repeat(1024 * 1024)]),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.message).toContain('larger than the limit');
    expect(await revisionNow()).toBe(before);
  });

  it('audits every write: actor, reason, before, after and the changed paths', async () => {
    const put = await write('PUT', '/blocked_ranges', ['203.0.113.0/24', '198.51.100.7/32'], {
      reason: 'second scanner, ticket 4712',
    });
    const audit = await api(cp.url, cp.adminToken, 'GET', '/v1/audit?action=data.put&limit=5');
    const event = audit.body.events.find(
      (e: { details: { revision?: number } }) => e.details?.revision === put.body.revision,
    );
    expect(event).toMatchObject({
      actor: 'token:live-writer',
      action: 'data.put',
      target: 'data/blocked_ranges',
      reason: 'second scanner, ticket 4712',
      details: {
        revision: put.body.revision,
        changed: [''],
        before: ['203.0.113.0/24'],
        after: ['203.0.113.0/24', '198.51.100.7/32'],
      },
    });
  });

  it('gives concurrent writes consecutive revisions, none lost, and keeps their history', async () => {
    const before = await revisionNow();
    const writes = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        write('PUT', `/rate_limits/concurrent-${i}`, i, { reason: `writer ${i}` }),
      ),
    );
    for (const answer of writes) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const revisions = writes.map((answer) => answer.body.revision as number).sort((a, b) => a - b);
    expect(revisions).toEqual(Array.from({ length: 16 }, (_, i) => before + 1 + i));
    const value = (await read('/rate_limits')).body.value as Record<string, number>;
    for (let i = 0; i < 16; i++) expect(value[`concurrent-${i}`]).toBe(i);

    const page = await read('/rate_limits/history?limit=10');
    expect(page.body.changes.map((c: { revision: number }) => c.revision)).toEqual(
      revisions.slice(6).reverse(),
    );
    expect(page.body.nextCursor).toBe(revisions[6]);
    const next = await read(`/rate_limits/history?limit=10&before=${page.body.nextCursor}`);
    expect(next.body.changes[0].revision).toBe(revisions[5]);
    // Which writer got that revision is up to the race; its history row names that writer.
    const writer5 = writes.findIndex((answer) => answer.body.revision === revisions[5]);
    expect(next.body.changes[0]).toMatchObject({
      name: 'rate_limits',
      key: `concurrent-${writer5}`,
      op: 'put',
      actor: 'token:live-writer',
      reason: `writer ${writer5}`,
      changed: [`/concurrent-${writer5}`],
    });
  });

  it('serialises writers on two replicas sharing the database: consecutive revisions, none lost', async () => {
    const replica = await startControlPlane({}, { replicaOf: cp });
    try {
      const before = await revisionNow();
      const writes = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          write(
            'PATCH',
            '/rate_limits',
            { [`replica-${i}`]: i },
            {
              reason: `replica writer ${i}`,
              base: i % 2 === 0 ? cp.url : replica.url,
            },
          ),
        ),
      );
      for (const answer of writes) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const revisions = writes.map((a) => a.body.revision as number).sort((a, b) => a - b);
      expect(revisions).toEqual(Array.from({ length: 12 }, (_, i) => before + 1 + i));
      const value = (await read('/rate_limits')).body.value as Record<string, number>;
      for (let i = 0; i < 12; i++) expect(value[`replica-${i}`]).toBe(i);
      const viaReplica = await api(replica.url, viewer, 'GET', '/v1/data/rate_limits');
      expect(viaReplica.body.value).toEqual(value);
    } finally {
      await replica.destroy();
    }
    // Starting the second replica takes most of this test (20 s and more on a busy machine).
  }, 120_000);

  it('stops serving and writing a document a newly active version no longer declares; its history stays', async () => {
    await pushPolicies(
      cp,
      work,
      { 'stepgate.yaml': withLiveData(settings, ['blocked_ranges', 'rate_limits']) },
      'No freeze',
    );
    const list = await read('');
    const names = list.body.documents.map((d: { name: string }) => d.name);
    expect(names).toEqual(expect.arrayContaining(['blocked_ranges', 'rate_limits']));
    expect(names).not.toContain('freeze');
    expect((await read('/freeze')).status).toBe(404);
    expect((await write('PUT', '/freeze', true)).status).toBe(404);
    const history = await read('/freeze/history');
    expect(history.status).toBe(200);
    expect(history.body.changes.map((c: { op: string }) => c.op)).toEqual(['delete', 'put']);
  });
});
