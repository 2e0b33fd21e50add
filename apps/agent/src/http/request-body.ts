import type { IncomingMessage } from 'node:http';
import { BadRequestError } from './decision-input.js';

/**
 * The request body, at most `maxBytes` (else a 413). Past the limit the rest is drained, not
 * buffered, so an oversized upload costs the agent no memory. `what` names the body in errors
 * ("the request body", "the review").
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
  what = 'the request body',
): Promise<Buffer> {
  const tooLarge = () => new BadRequestError(`${what} exceeds ${maxBytes} bytes`, 413);
  if (Number(req.headers['content-length']) > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
      failed = true;
    });
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
  if (body.length === 0)
    throw new BadRequestError(`the request body is empty; expected ${expected}`);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new BadRequestError(`the body is not valid JSON: ${(error as Error).message}`);
  }
}
