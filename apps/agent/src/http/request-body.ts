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
  const body = await readBody(req, maxBytes, what);
  if (body.length === 0) throw invalidRequest(`the request body is empty; expected ${expected}`);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw invalidRequest(`the body is not valid JSON: ${(error as Error).message}`);
  }
}
