/**
 * The malformed requests: for each endpoint of the catalogue and each kind of malformation that
 * applies to it, a request and the answer it must get. Everything random comes from the seeded
 * PRNG, so a seed replays the same drill.
 */
import { ALL_METHODS, type Endpoint, type Target } from './catalogue.js';
import {
  acceptedTypes,
  fieldsOf,
  stringPaths,
  withField,
  wrongValuesFor,
  type JsonSchema,
} from './json-schema.js';
import type { Prng } from './prng.js';

/** 2 = any 2xx, 4 = any 4xx. A 5xx, a hang or a dropped connection is never expected. */
export interface Expectation {
  classes: (2 | 3 | 4)[];
  /** When set, the status must be one of these. */
  statuses?: number[];
  /** The server may close the connection before answering (a body over the limit). */
  mayReset?: boolean;
}

export interface DrillCase {
  target: Target;
  endpoint: string;
  kind: string;
  /** What exactly was sent, for the failure message. */
  variant: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  expect: Expectation;
  /** Error answers must be JSON `{error, message}`. */
  jsonErrors: boolean;
}

export interface CaseContext {
  adminToken: string;
  /** Every method each path of the target serves (a wrong method is any other). */
  methodsByPath: Map<string, Set<string>>;
}

const REJECT: Expectation = { classes: [4] };
const ANY: Expectation = { classes: [2, 4] };
const UNAUTHENTICATED: Expectation = { classes: [4], statuses: [401] };

type KindFn = (endpoint: Endpoint, rng: Prng, ctx: CaseContext) => Partial<DrillCase> | undefined;

const JSON_TYPE = 'application/json';

function hasBody(endpoint: Endpoint): boolean {
  return endpoint.sample !== undefined || endpoint.schema !== undefined;
}

/** The body the endpoint's sample (or `{}`) serializes to. */
function sampleText(endpoint: Endpoint): string {
  return JSON.stringify(endpoint.sample ?? {});
}

/** No field is required: a body the server reads as `{}` is legitimately accepted. */
function acceptsEmpty(endpoint: Endpoint): boolean {
  if (endpoint.target === 'agent') return endpoint.lenient;
  return endpoint.schema !== undefined && (endpoint.schema.required ?? []).length === 0;
}

/** Default values for path parameters: well formed, naming nothing that exists. */
function fillPath(path: string, rng: Prng): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === 'ref') return String(rng.int(900_000, 999_999));
    if (name === 'id') return '00000000-0000-4000-8000-' + rng.int(1e11, 9e11).toString();
    return `drill-${name}-${rng.int(1, 1e6)}`;
  });
}

function base(endpoint: Endpoint, rng: Prng, ctx: CaseContext): DrillCase {
  const headers: Record<string, string | string[]> = { ...validAuth(endpoint, ctx) };
  let body: Buffer | undefined;
  if (hasBody(endpoint)) {
    headers['content-type'] = JSON_TYPE;
    body = Buffer.from(sampleText(endpoint));
  }
  return {
    target: endpoint.target,
    endpoint: endpoint.label,
    kind: 'baseline',
    variant: '',
    method: endpoint.method,
    path: fillPath(endpoint.path, rng),
    headers,
    ...(body ? { body } : {}),
    expect: ANY,
    jsonErrors: endpoint.jsonErrors,
  };
}

function validAuth(endpoint: Endpoint, ctx: CaseContext): Record<string, string> {
  if (endpoint.auth === 'bearer') return { authorization: `Bearer ${ctx.adminToken}` };
  if (endpoint.auth === 'git')
    return {
      authorization: `Basic ${Buffer.from(`drill:${ctx.adminToken}`).toString('base64')}`,
    };
  return {};
}

/** Junk is a 4xx here, unless the endpoint may legitimately answer it. */
function rejectUnlessLenient(endpoint: Endpoint): Expectation {
  return endpoint.lenient ? ANY : REJECT;
}

function json(body: string | Buffer, type = JSON_TYPE): Partial<DrillCase> {
  return {
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
    headers: { 'content-type': type },
  };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const INVALID_JSON = [
  '{',
  '{"a":}',
  "{'single': 'quotes'}",
  '{"a":1,}',
  'nul',
  'NaN',
  '{"a" 1}',
  '[1,2',
  '{"a":"unterminated}',
  '\u0000',
  '{"a":1}{"b":2}',
  '<xml/>',
  '"just a string"',
  '123',
  'null',
  'true',
  '[]',
  '{"a":-}',
  '{"a":0x10}',
  '{"a":"\\uZZZZ"}',
];

const BAD_PATH_PARAMS = [
  '..',
  '%2e%2e',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  '%ff',
  '%',
  '%zz',
  '%c0%ae',
  '-1',
  '0',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '%3Cscript%3E',
  "'%20OR%201=1--",
  '%F0%9F%92%A5',
  '%20',
  'a'.repeat(300),
  'a'.repeat(5000),
  '1e309',
  '0x1f',
  'not-a-uuid',
  '00000000-0000-0000-0000-00000000000g',
];

const JUNK_QUERIES = [
  'limit[]=1&limit[]=2',
  'limit[a]=b',
  'limit=-1',
  'limit=0',
  'limit=1e999',
  'limit=abc',
  'limit=99999999999999999999',
  'from=not-a-date&to=%00',
  'from=2026-02-30T25:61:00Z',
  'cursor=%ff%fe',
  'cursor=' + 'Z'.repeat(3000),
  'status=__proto__',
  '__proto__[polluted]=1',
  'constructor[prototype][polluted]=1',
  '%zz=1',
  'effect=allow&effect=deny',
  'effect=maybe',
  'principal=*',
  'all=maybe',
  'subject=%00',
  'revision=-5',
  'service=git-receive-pack',
  'a=' + 'b'.repeat(7000),
  '&&&==&=',
];

/** The agent's endpoints that refuse a body not sent as `application/json` (or `+json`). */
const AGENT_JSON_PATHS = new Set(['/v1/decide', '/access/v1/evaluation', '/access/v1/evaluations']);

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=drill',
  'multipart/form-data',
  'application/json; charset=utf-16',
  'application/json; charset=klingon',
  'application/jsonx',
  '*/*',
  '',
];

/** Every kind of malformation, each producing one randomized request. */
const KINDS: Record<string, { applies: (e: Endpoint) => boolean; make: KindFn }> = {
  'no-credentials': {
    applies: (e) => e.auth === 'bearer' || e.auth === 'git',
    make: () => ({ headers: {}, expect: UNAUTHENTICATED, variant: 'no Authorization' }),
  },
  'bad-authorization': {
    applies: (e) => e.auth !== 'public',
    make: (e, rng, ctx) => {
      const junk = rng.ascii(rng.int(1, 40)).replace(/\s/g, '_');
      const schemes = [
        `Basic ${Buffer.from('admin:admin').toString('base64')}`,
        'Basic !!!notbase64',
        `Token ${ctx.adminToken}`,
        'Bearer',
        'Bearer ',
        `bearer  ${junk} extra`,
        `Digest username="admin"`,
        `Bearer ${'A'.repeat(8000)}`,
        `Bearer ${ctx.adminToken}x`,
        `Bearer ${ctx.adminToken.toUpperCase()}`,
        `Bearer ${ctx.adminToken.slice(0, -1)}`,
        `Bearer sg_${junk}`,
        `Bearer\t${junk}`,
        // JWTs: unsigned, garbage, wrong algorithm, huge claims.
        `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'root', acr: 'urn:stepgate:phr' })}.`,
        `Bearer ${b64url({ alg: 'HS256' })}.${b64url({ sub: 'root' })}.${rng.bytes(32).toString('base64url')}`,
        `Bearer ${b64url({ alg: 'ES256', kid: '../../etc/passwd' })}.${b64url({ sub: 1 })}.sig`,
        `Bearer ${b64url({ alg: 'RS256', jku: 'http://127.0.0.1:9/jwks' })}.${b64url({ exp: 'never' })}.x`,
        'Bearer a.b.c',
        'Bearer ...',
        'Bearer e30.e30.e30',
        `Bearer ${b64url({ alg: 'none' })}.${b64url({ sub: 'x'.repeat(4000) })}.`,
        `Bearer ${junk}.${junk}`,
        `Basic ${Buffer.from(`drill:${junk}`).toString('base64')}`,
        `Basic ${Buffer.from(':').toString('base64')}`,
      ];
      const value = rng.pick(schemes);
      // The agent takes a bearer token as evidence: a bad one may be ignored or be a 401;
      // everywhere else a bad credential is a 401 (webhooks: any 4xx).
      const expect = e.auth === 'evidence' ? ANY : e.auth === 'webhook' ? REJECT : UNAUTHENTICATED;
      const headers: Record<string, string> = { authorization: value };
      if (e.auth === 'webhook')
        Object.assign(
          headers,
          rng.pick([
            { 'x-hub-signature-256': `sha256=${rng.bytes(32).toString('hex')}` },
            { 'x-hub-signature-256': 'sha256=' },
            { 'x-hub-signature-256': junk },
            { 'x-gitlab-token': junk },
            { 'x-gitea-signature': 'zz' },
            { 'x-github-event': 'push', 'x-hub-signature-256': 'md5=00' },
          ]),
        );
      return { headers, expect, variant: value.slice(0, 80) };
    },
  },
  'invalid-json': {
    applies: (e) => hasBody(e) || e.method !== 'GET',
    make: (e, rng) => {
      const text = rng.chance(0.2) ? rng.ascii(rng.int(1, 200)) : rng.pick(INVALID_JSON);
      // Valid JSON of the wrong shape ('[]', '123', 'null'...) is refused as well; but where
      // the body may be an array (POST /v1/events takes a batch), '[]' is an empty batch.
      const emptyBatch =
        text === '[]' && e.schema !== undefined && acceptedTypes(e.schema).has('array');
      const expect = emptyBatch ? ANY : rejectUnlessLenient(e);
      return { ...json(text), expect, variant: text.slice(0, 60) };
    },
  },
  'binary-body': {
    applies: (e) => e.method !== 'GET',
    make: (e, rng) => ({
      ...json(rng.bytes(rng.int(1, 4096))),
      expect: rejectUnlessLenient(e),
      variant: 'random bytes',
    }),
  },
  'truncated-json': {
    applies: hasBody,
    make: (e, rng) => {
      const text = sampleText(e);
      const cut = rng.int(1, Math.max(1, text.length - 1));
      return {
        ...json(text.slice(0, cut)),
        expect: rejectUnlessLenient(e),
        variant: `cut at ${cut}`,
      };
    },
  },
  'huge-body': {
    applies: (e) => e.bodyLimit !== undefined && e.method !== 'GET',
    make: (e, rng) => {
      const limit = e.bodyLimit as number;
      const over = rng.int(1, 4096);
      const padding = limit + over - '{"pad":""}'.length;
      return {
        ...json(`{"pad":"${'x'.repeat(padding)}"}`),
        expect: { classes: [4], statuses: [413], mayReset: true },
        variant: `${limit + over} bytes`,
      };
    },
  },
  'deep-nesting': {
    applies: (e) => e.method !== 'GET',
    make: (e, rng) => {
      const depth = rng.pick([200, 1000, 5000, 20_000, 100_000]);
      if (rng.chance(0.5) || e.sample === undefined || typeof e.sample !== 'object') {
        const open = rng.chance(0.5) ? '[' : '{"a":';
        const close = open === '[' ? ']' : '}';
        return {
          ...json(open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth)),
          expect: rejectUnlessLenient(e),
          variant: `top-level ${open} x${depth}`,
        };
      }
      // Deep inside a field: free-form fields (context, attributes) may legitimately take it.
      const paths = objectPaths(e.sample);
      const path = paths.length > 0 ? rng.pick(paths) : ['drill'];
      const marker = '"__DRILL_DEEP__"';
      const text = JSON.stringify(withField(e.sample, path, '__DRILL_DEEP__')).replace(
        marker,
        '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
      );
      return { ...json(text), expect: ANY, variant: `${path.join('.')} nested x${depth}` };
    },
  },
  'wrong-type': {
    applies: (e) =>
      e.fields !== undefined || (e.schema?.properties !== undefined && e.schema !== undefined),
    make: (e, rng) => {
      const fields = fieldCandidates(e);
      if (fields.length === 0) return undefined;
      const field = rng.pick(fields);
      // Kubernetes encodes an absent optional field as null too: only other types are wrong there.
      const wrong = wrongValuesFor(field.schema).filter((v) => e.strict || v !== null);
      if (wrong.length === 0) return undefined;
      const value = rng.pick(wrong);
      return {
        ...json(JSON.stringify(withField(e.sample, field.path, value))),
        expect: rejectUnlessLenient(e),
        variant: `${field.path.join('.')} = ${JSON.stringify(value)?.slice(0, 40)}`,
      };
    },
  },
  'unknown-field': {
    applies: hasBody,
    make: (e, rng) => {
      const name = rng.pick(['drill', 'isAdmin', 'scopes_', '$where', 'x'.repeat(300), '']);
      const nested = pickMaybe(rng, objectPaths(e.sample), 0.3);
      const body = nested
        ? withField(e.sample, [...nested, name], 1)
        : { ...(e.sample as object), [name]: true };
      return {
        ...json(JSON.stringify(body)),
        // Unknown fields at the top of a strict body are a 400; nested ones may sit in a
        // free-form member (attributes, context, a Kubernetes object).
        expect: !nested && e.strict && !e.lenient ? REJECT : ANY,
        variant: `${nested ? nested.join('.') + '.' : ''}${name.slice(0, 20)}`,
      };
    },
  },
  'prototype-key': {
    applies: hasBody,
    make: (e, rng) => {
      const key = rng.pick(['__proto__', 'constructor', 'prototype']);
      const payload = rng.pick([
        '{"polluted":true,"isAdmin":true,"scopes":["admin"]}',
        '{"prototype":{"polluted":true}}',
        'null',
        '"x"',
      ]);
      const text = sampleText(e);
      const nested = pickMaybe(rng, objectPaths(e.sample), 0.4);
      let body: string;
      if (nested) {
        const marker = '"__DRILL_PROTO__"';
        body = JSON.stringify(withField(e.sample, nested, '__DRILL_PROTO__')).replace(
          marker,
          `{"${key}":${payload}}`,
        );
      } else {
        body = text === '{}' ? `{"${key}":${payload}}` : `{"${key}":${payload},${text.slice(1)}`;
      }
      return {
        ...json(body),
        expect: !nested && e.strict && !e.lenient ? REJECT : ANY,
        variant: `${nested ? nested.join('.') + '.' : ''}${key}=${payload}`,
      };
    },
  },
  'null-bytes': {
    applies: hasBody,
    make: (e, rng) => {
      const paths = stringPaths(e.sample);
      if (paths.length === 0) return undefined;
      const path = rng.pick(paths);
      const value = rng.pick(['\u0000', 'a\u0000b', '\u0000'.repeat(100), 'x\u0000\u0001\u001f']);
      return {
        ...json(JSON.stringify(withField(e.sample, path, value))),
        expect: ANY,
        variant: `${path.join('.')} has NUL`,
      };
    },
  },
  'invalid-utf8': {
    applies: hasBody,
    make: (e, rng) => {
      const paths = stringPaths(e.sample);
      if (paths.length === 0) return undefined;
      const path = rng.pick(paths);
      const marker = '__DRILL_UTF8__';
      const [before, after] = JSON.stringify(withField(e.sample, path, marker)).split(marker);
      const bad = rng.pick([
        Buffer.from([0xc3, 0x28]),
        Buffer.from([0xff, 0xfe, 0xfd]),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from([0xf4, 0x90, 0x80, 0x80]),
        Buffer.from([0xe2, 0x82]),
      ]);
      return {
        ...json(Buffer.concat([Buffer.from(before ?? ''), bad, Buffer.from(after ?? '')])),
        expect: ANY,
        variant: `${path.join('.')} has ${bad.toString('hex')}`,
      };
    },
  },
  'empty-body': {
    applies: (e) => hasBody(e) || e.method === 'POST',
    make: (e, rng) => {
      const empty = rng.pick(['', ' ', '\n', '\r\n\r\n']);
      return {
        ...json(empty),
        expect: acceptsEmpty(e) || e.lenient ? ANY : REJECT,
        variant: JSON.stringify(empty),
      };
    },
  },
  'wrong-content-type': {
    applies: hasBody,
    make: (e, rng) => {
      const type = rng.pick(CONTENT_TYPES);
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      // The agent's decision APIs (/v1/decide, AuthZEN) require a JSON Content-Type; its other
      // endpoints read their peers' bodies as JSON whatever the type.
      const expect =
        (e.target === 'agent' && !AGENT_JSON_PATHS.has(e.path)) || acceptsEmpty(e) || e.lenient
          ? ANY
          : type.includes('charset=')
            ? { classes: [4] as (2 | 4)[], statuses: [400, 415] }
            : REJECT;
      return {
        body: Buffer.from(sampleText(e)),
        headers,
        expect,
        variant: type || '(none)',
        replaceHeaders: true,
      } as Partial<DrillCase>;
    },
  },
  'wrong-method': {
    applies: () => true,
    make: (e, rng, ctx) => {
      const path = e.path.split('?')[0] as string;
      const served = ctx.methodsByPath.get(path) ?? new Set([e.method]);
      const others = [...ALL_METHODS, 'PROPFIND', 'CONNECTX', 'M-SEARCH'].filter(
        (m) => !served.has(m),
      );
      if (others.length === 0) return undefined;
      const method = rng.pick(others);
      // HEAD of a GET route and OPTIONS may be answered; the reverse-proxy check takes any method.
      const lenient = method === 'HEAD' || method === 'OPTIONS' || path === '/v1/authz/http';
      return { method, expect: lenient ? ANY : REJECT, variant: method };
    },
  },
  'odd-headers': {
    applies: () => true,
    make: (_e, rng) => {
      const variants: [string, Record<string, string | string[]>, Expectation][] = [
        [
          '20 KiB header',
          { 'x-drill': 'h'.repeat(20_000) },
          { classes: [4], statuses: [431], mayReset: true },
        ],
        [
          '200 headers',
          Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-drill-${i}`, String(i)])),
          ANY,
        ],
        ['content-encoding gzip on plain text', { 'content-encoding': 'gzip' }, ANY],
        ['content-encoding unknown', { 'content-encoding': 'klingon' }, ANY],
        ['accept xml', { accept: 'application/xml' }, ANY],
        [
          'junk x-forwarded-*',
          {
            'x-forwarded-for': 'not-an-ip, ::ffff:zz',
            'x-forwarded-proto': 'gopher',
            'x-forwarded-host': '..',
          },
          ANY,
        ],
        ['odd host', { host: rng.pick(['', '..', 'a'.repeat(2000), '[::1', 'x:99999']) }, ANY],
        ['duplicate content-type', { 'content-type': ['application/json', 'text/plain'] }, ANY],
        ['long x-request-id', { 'x-request-id': 'r'.repeat(4000) }, ANY],
        [
          'x-original-uri junk',
          {
            'x-original-uri': rng.pick([
              '',
              '..',
              '/a/../../b',
              '%zz',
              'http://x/' + 'p'.repeat(3000),
            ]),
            'x-original-method': rng.pick(['', 'GET POST', 'g e t', 'X'.repeat(300)]),
          },
          ANY,
        ],
        [
          'forwarded-uri junk',
          { 'x-forwarded-uri': rng.ascii(100), 'x-forwarded-method': rng.ascii(10) },
          ANY,
        ],
        ['latin1 header', { 'x-drill': 'caf\u00e9 \u00ff' }, ANY],
        ['range', { range: 'bytes=999999-1' }, ANY],
        // A conditional GET may be a 304 Not Modified: that is HTTP, not a failure.
        [
          'if-none-match',
          { 'if-none-match': '*', 'if-modified-since': 'yesterday' },
          { classes: [2, 3, 4] },
        ],
        ['cookie junk', { cookie: `a=${rng.ascii(500).replace(/[;\s]/g, '_')}` }, ANY],
      ];
      const [variant, headers, expect] = rng.pick(variants);
      return { headers, expect, variant, mergeHeaders: true } as Partial<DrillCase>;
    },
  },
  'bad-path-param': {
    applies: (e) => e.path.includes('{'),
    make: (e, rng) => {
      const value = rng.pick(BAD_PATH_PARAMS);
      const path = e.path.replace(/\{(\w+)\}/, value);
      // A very long request line is refused by the HTTP parser (431) before any route.
      return {
        path: fillPath(path, rng),
        expect: rejectUnlessLenient(e),
        variant: value.slice(0, 40),
      };
    },
  },
  'odd-path': {
    applies: () => true,
    make: (e, rng) => {
      const [path, query] = e.path.split('?') as [string, string | undefined];
      const filled = fillPath(path, rng);
      const odd = rng.pick([
        `${filled}/..`,
        `${filled}/../..`,
        `/${filled}`,
        `${filled}//`,
        `${filled}/%2e%2e/%2e%2e`,
        `${filled};jsessionid=1`,
        filled.toUpperCase(),
        `${filled}%00`,
        `${filled}/${'x'.repeat(2000)}`,
        `${filled}#frag`,
        filled.replace(/\//g, '%2f'),
      ]);
      return { path: query ? `${odd}?${query}` : odd, expect: ANY, variant: odd.slice(0, 60) };
    },
  },
  'query-junk': {
    applies: () => true,
    make: (e, rng) => {
      const junk = rng.pick(JUNK_QUERIES);
      const path = fillPath(e.path, rng);
      return {
        path: `${path}${path.includes('?') ? '&' : '?'}${junk}`,
        expect: ANY,
        variant: junk.slice(0, 60),
      };
    },
  },
};

/** One of `items` with probability `p` (never from an empty list), else undefined. */
function pickMaybe<T>(rng: Prng, items: T[], p: number): T | undefined {
  return items.length > 0 && rng.chance(p) ? rng.pick(items) : undefined;
}

/** Paths of the object members of a sample (where nested junk can go). */
function objectPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || prefix.length > 4)
    return [];
  const out: string[][] = prefix.length > 0 ? [prefix] : [];
  for (const [key, child] of Object.entries(value))
    out.push(...objectPaths(child, [...prefix, key]));
  return out;
}

/** The fields to break: from the route's field list (types taken from the sample) or schema. */
function fieldCandidates(e: Endpoint): { path: string[]; schema: JsonSchema }[] {
  if (e.fields) {
    return e.fields.flatMap((dotted) => {
      const path = dotted.split('.');
      const current = path.reduce<unknown>(
        (at, key) => (at as Record<string, unknown> | undefined)?.[key],
        e.sample,
      );
      // A field the sample leaves out has no known type to contradict.
      return current === undefined ? [] : [{ path, schema: schemaOfValue(current) }];
    });
  }
  return fieldsOf(e.schema as JsonSchema).filter((f) => acceptedTypes(f.schema).size > 0);
}

function schemaOfValue(value: unknown): JsonSchema {
  if (Array.isArray(value)) return { type: 'array' };
  if (value === null) return { type: 'null' };
  if (typeof value === 'object') return { type: 'object' };
  return { type: typeof value };
}

/**
 * Builds `count` cases for `endpoints`: first every applicable (endpoint, kind) pair once, then
 * random pairs until the count is reached. Bodies over the limit are few (they cost the most).
 */
export function buildCases(
  endpoints: Endpoint[],
  count: number,
  rng: Prng,
  ctx: CaseContext,
): DrillCase[] {
  const pairs: [Endpoint, string][] = [];
  for (const endpoint of endpoints)
    for (const [name, kind] of Object.entries(KINDS))
      if (kind.applies(endpoint)) pairs.push([endpoint, name]);
  const cases: DrillCase[] = [];
  const huge = new Map<string, number>();
  const add = (endpoint: Endpoint, name: string) => {
    if (name === 'huge-body') {
      const n = huge.get(endpoint.label) ?? 0;
      if (n >= 3) return;
      huge.set(endpoint.label, n + 1);
    }
    const made = KINDS[name]?.make(endpoint, rng, ctx);
    if (!made) return;
    cases.push(assemble(base(endpoint, rng, ctx), name, made));
  };
  for (const [endpoint, name] of pairs) add(endpoint, name);
  let guard = 0;
  while (cases.length < count && guard++ < count * 4) {
    const [endpoint, name] = rng.pick(pairs);
    add(endpoint, name);
  }
  return cases;
}

function assemble(
  base: DrillCase,
  kind: string,
  made: Partial<DrillCase> & { replaceHeaders?: boolean; mergeHeaders?: boolean },
): DrillCase {
  const { replaceHeaders, mergeHeaders, ...rest } = made;
  let headers = base.headers;
  if (made.headers) {
    if (replaceHeaders) {
      const { 'content-type': _dropped, ...others } = base.headers;
      headers = { ...others, ...made.headers };
    } else if (mergeHeaders || made.body) headers = { ...base.headers, ...made.headers };
    else {
      // An auth kind: the credentials are replaced, the body stays.
      const { authorization: _auth, ...others } = base.headers;
      headers = { ...others, ...made.headers };
    }
  }
  return { ...base, ...rest, kind, headers };
}
