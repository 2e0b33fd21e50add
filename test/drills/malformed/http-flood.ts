/**
 * Sends the drill's requests over keep-alive connections with modest concurrency, each with a
 * deadline, and judges every answer: never a 5xx, a hang or a dropped connection, the expected
 * status class, JSON `{error, message}` errors without stack traces or file paths.
 */
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import type { DrillCase } from './cases.js';

export interface Outcome {
  case: DrillCase;
  /** The HTTP status, or what happened instead. */
  status: number | 'timeout' | 'reset';
  contentType: string;
  body: string;
  ms: number;
}

/** Sends one case; never rejects. */
function send(base: URL, agent: Agent, item: DrillCase, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: Outcome['status'], contentType = '', body = '') => {
      if (settled) return;
      settled = true;
      resolve({ case: item, status, contentType, body, ms: performance.now() - started });
    };
    let req;
    try {
      req = request({
        host: base.hostname,
        port: base.port,
        method: item.method,
        path: item.path,
        headers: {
          ...item.headers,
          ...(item.body ? { 'content-length': String(item.body.length) } : {}),
        },
        agent,
      });
    } catch (error) {
      // The client itself refused to send it (an invalid header); not a server answer.
      done('reset', '', `client refused: ${(error as Error).message}`);
      return;
    }
    const timer = setTimeout(() => {
      done('timeout');
      req.destroy();
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        done(
          res.statusCode ?? 0,
          String(res.headers['content-type'] ?? ''),
          Buffer.concat(chunks).toString('utf8'),
        );
      });
      res.on('error', () => {
        clearTimeout(timer);
        done(res.statusCode ?? 0, String(res.headers['content-type'] ?? ''), '');
      });
    });
    req.on('error', () => {
      clearTimeout(timer);
      done('reset');
    });
    req.end(item.body);
  });
}

/** Runs `cases` against `baseUrl`, `concurrency` at a time, in order of the list. */
export async function flood(
  baseUrl: string,
  cases: DrillCase[],
  concurrency: number,
  timeoutMs = 10_000,
): Promise<Outcome[]> {
  const base = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const outcomes: Outcome[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const index = next++;
      outcomes[index] = await send(base, agent, cases[index] as DrillCase, timeoutMs);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return outcomes;
}

/** Protocol-level junk a client library would not send, over raw TCP. */
export const RAW_REQUESTS: { name: string; bytes: string }[] = [
  { name: 'garbage line', bytes: 'GARBAGE\r\n\r\n' },
  { name: 'HTTP/9.9', bytes: 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n' },
  { name: 'no host', bytes: 'GET /healthz HTTP/1.1\r\n\r\n' },
  { name: 'bad header name', bytes: 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n' },
  { name: 'ctl in header', bytes: 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n' },
  {
    name: 'two content-lengths',
    bytes:
      'POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}',
  },
  {
    name: 'negative content-length',
    bytes: 'POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}',
  },
  {
    name: 'bad chunk size',
    bytes:
      'POST /v1/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n',
  },
  {
    name: 'TE and CL (smuggling)',
    bytes:
      'POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  },
  { name: 'bare LF', bytes: 'GET /healthz HTTP/1.1\nHost: x\n\n' },
  {
    name: 'absolute-form URI',
    bytes: 'GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  },
  { name: 'asterisk form', bytes: 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n' },
  { name: 'space in URI', bytes: 'GET /he althz HTTP/1.1\r\nHost: x\r\n\r\n' },
  { name: 'NUL in URI', bytes: 'GET /healthz\u0000 HTTP/1.1\r\nHost: x\r\n\r\n' },
  { name: 'HTTP/0.9', bytes: 'GET /healthz\r\n\r\n' },
  { name: 'half a request line, then close', bytes: 'POST /v1/dec' },
];

export interface RawOutcome {
  name: string;
  /** The status of the first answer, or `closed` (no answer, connection closed), or `timeout`. */
  status: number | 'closed' | 'timeout';
  text: string;
}

/** Writes `bytes`, half-closes, and reads what comes back. */
export function sendRaw(baseUrl: string, name: string, bytes: string, timeoutMs = 5000) {
  const base = new URL(baseUrl);
  return new Promise<RawOutcome>((resolve) => {
    const socket = connect(Number(base.port), base.hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ name, status: 'timeout', text });
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ name, status: match ? Number(match[1]) : 'closed', text: text.slice(0, 300) });
    });
    socket.end(Buffer.from(bytes, 'latin1'));
  });
}

const STACK_FRAME = /\n\s+at \S.*[:(]\d+:\d+\)?/;
const FILE_PATH = /(\/work\/|\/home\/|\/usr\/|node_modules|file:\/\/|\.(?:ts|js):\d+)/;

/** What is wrong with an outcome, or undefined when it is what the drill expects. */
export function violation(outcome: Outcome, repoRoot: string): string | undefined {
  const { case: item, status, body } = outcome;
  if (status === 'timeout') return 'no answer before the deadline (a hang)';
  if (status === 'reset')
    return item.expect.mayReset ? undefined : `connection dropped without an answer ${body}`;
  if (status >= 500) return `${status} server error: ${body.slice(0, 200)}`;
  const cls = Math.floor(status / 100);
  if (!(item.expect.classes as number[]).includes(cls))
    return `status ${status}, expected ${item.expect.classes.map((c) => `${c}xx`).join(' or ')}`;
  if (item.expect.statuses && !item.expect.statuses.includes(status))
    return `status ${status}, expected ${item.expect.statuses.join(' or ')}`;
  if (STACK_FRAME.test(body) || body.includes(repoRoot) || (status >= 400 && FILE_PATH.test(body)))
    return `the body leaks internals: ${body.slice(0, 200)}`;
  if (status >= 400 && item.jsonErrors && item.method !== 'HEAD') {
    // The HTTP parser's own refusals (431, 400 on an unparsable request) have no body.
    if (body === '' && (status === 431 || status === 400)) return undefined;
    if (!outcome.contentType.includes('json'))
      return `a ${status} error that is not JSON (${outcome.contentType}): ${body.slice(0, 120)}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return `a ${status} error whose body is not JSON: ${body.slice(0, 120)}`;
    }
    const { error, message } = (parsed ?? {}) as { error?: unknown; message?: unknown };
    if (typeof error !== 'string' || typeof message !== 'string' || message === '')
      return `a ${status} error without {error, message}: ${body.slice(0, 120)}`;
  }
  return undefined;
}

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'timeout' | 'reset';

export function classOf(status: Outcome['status']): StatusClass {
  if (typeof status !== 'number') return status;
  return `${Math.floor(status / 100)}xx` as StatusClass;
}

/** One line per endpoint: how many requests got each class of answer. */
export function summaryTable(
  rows: { target: string; endpoint: string; status: Outcome['status'] }[],
) {
  const classes: StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'timeout', 'reset'];
  const table = new Map<string, Record<StatusClass, number>>();
  for (const row of rows) {
    const key = `${row.target.padEnd(5)} ${row.endpoint}`;
    const counts =
      table.get(key) ??
      (Object.fromEntries(classes.map((c) => [c, 0])) as Record<StatusClass, number>);
    counts[classOf(row.status)] += 1;
    table.set(key, counts);
  }
  const width = Math.max(...[...table.keys()].map((k) => k.length), 10);
  const lines = [`${'endpoint'.padEnd(width)} ${classes.map((c) => c.padStart(7)).join('')}`];
  for (const [key, counts] of [...table.entries()].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(
      `${key.padEnd(width)} ${classes.map((c) => String(counts[c]).padStart(7)).join('')}`,
    );
  return lines.join('\n');
}
