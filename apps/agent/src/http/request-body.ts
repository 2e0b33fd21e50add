import type { IncomingMessage } from 'node:http';
import { invalidRequest } from './decision-input.js';

/**
 * How much of a refused body is still read, so that the client, still sending, reads the 413
 * instead of a broken pipe: up to this many times the limit, for at most DRAIN_MS. Past that
 * the 413 goes out at once and the connection closes (a reset is then the client's to handle).
 */
const DRAIN_FACTOR = 8;
const DRAIN_MS = 5_000;

/**
 * The request body, at most `maxBytes` (else a 413). Past the limit the rest is drained, not
 * buffered, so an oversized upload costs the agent no memory, and the 413 is sent once the
 * body has arrived (within the bounds above). `what` names the body in errors ("the request
 * body", "the review").
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
  what = 'the request body',
): Promise<Buffer> {
  const tooLarge = () => invalidRequest(`${what} exceeds ${maxBytes} bytes`, 413);
  const drainLimit = maxBytes * DRAIN_FACTOR;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(drainTimer);
      outcome();
    };
    const refuse = () => settle(() => reject(tooLarge()));
    const startDraining = () => {
      chunks.length = 0;
      drainTimer = setTimeout(refuse, DRAIN_MS);
      drainTimer.unref();
    };
    const declared = Number(req.headers['content-length']);
    if (declared > drainLimit) {
      req.resume();
      refuse();
      return;
    }
    if (declared > maxBytes) startDraining();
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > drainLimit) return refuse();
      if (size > maxBytes) {
        if (drainTimer === undefined) startDraining();
        return;
      }
      if (drainTimer === undefined) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > maxBytes || drainTimer !== undefined) return refuse();
      settle(() => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    });
    req.on('error', (error) => settle(() => reject(error)));
  });
}

/** The body parsed as JSON; an empty or unparsable body is a 400 saying what was expected. */
export async function readJson(
  req: IncomingMessage,
  maxBytes: number,
  expected = 'JSON',
  what?: string,
): Promise<unknown> {
  return parseJson(await readBody(req, maxBytes, what), expected);
}

/**
 * A JSON request body whose sender must say it is JSON (`Content-Type: application/json`, with
 * parameters, or `application/<something>+json`), as AuthZEN requires: any other type, or a
 * body without a type, is a 400 that says what to send. For the decision APIs (`/v1/decide`,
 * AuthZEN); the Kubernetes webhooks and the reverse-proxy check take what their peers send.
 */
export async function readJsonRequest(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBytes);
  const problem = contentTypeProblem(req.headers['content-type'], body.length > 0);
  if (problem !== undefined) throw invalidRequest(problem);
  return parseJson(body, 'JSON');
}

const SEND_JSON = 'send the body as JSON with Content-Type: application/json';

/** What is wrong with a request's Content-Type for a JSON body, or undefined. */
export function contentTypeProblem(
  header: string | undefined,
  hasBody: boolean,
): string | undefined {
  if (header === undefined || header.trim() === '')
    // An empty body without a type is answered as an empty body.
    return hasBody ? `the request has a body but no Content-Type; ${SEND_JSON}` : undefined;
  const [mediaType = '', ...parameters] = header.split(';');
  const type = mediaType.trim().toLowerCase();
  if (type !== 'application/json' && !/^application\/[a-z0-9!#$&^_.-]+\+json$/.test(type))
    return `Content-Type ${JSON.stringify(header.slice(0, 100))} is not JSON; ${SEND_JSON}`;
  // JSON is UTF-8 (RFC 8259); a body declared in another charset would be misread.
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=', 2).map((part) => part.trim());
    const charset = value.replace(/^"(.*)"$/, '$1').toLowerCase();
    if (name.toLowerCase() === 'charset' && charset !== 'utf-8' && charset !== 'utf8')
      return `Content-Type charset ${JSON.stringify(charset.slice(0, 40))} is not supported; JSON is sent as UTF-8 (charset=utf-8, or no charset)`;
  }
  return undefined;
}

function parseJson(body: Buffer, expected: string): unknown {
  if (body.length === 0) throw invalidRequest(`the request body is empty; expected ${expected}`);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw invalidRequest(`the body is not valid JSON: ${(error as Error).message}`);
  }
}
