import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorStatus, StepgateError } from '@stepgate/protocol';
import { readBody } from './request-body.js';

const LIMIT = 512 * 1024;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    readBody(req, LIMIT).then(
      (body) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(String(body.length));
      },
      (error: unknown) => {
        const status = error instanceof StepgateError ? errorStatus(error) : 500;
        // As the agent does for a 413: the connection closes after the answer.
        res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
        res.end(error instanceof Error ? error.message : String(error));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('readBody', () => {
  it('reads a body within the limit', async () => {
    const response = await fetch(url, { method: 'POST', body: 'x'.repeat(LIMIT) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(String(LIMIT));
  });

  it('answers 413 to a client still sending an oversized body, instead of breaking its pipe', async () => {
    // Six times the limit: big enough that the client is still writing when a refusal sent at
    // once would close the connection (EPIPE / "fetch failed" for the client before the fix).
    for (let attempt = 0; attempt < 10; attempt++) {
      const response = await fetch(url, { method: 'POST', body: 'x'.repeat(6 * LIMIT) });
      expect(response.status).toBe(413);
      expect(await response.text()).toBe(`the request body exceeds ${LIMIT} bytes`);
    }
  });

  it('answers 413 to a chunked body that grows past the limit while the client is still sending', async () => {
    // Sent slowly, so the client is certainly still writing when the limit is passed: a refusal
    // sent at once closes the connection under it (fetch failed: EPIPE, before the fix).
    let sent = 0;
    const body = new ReadableStream({
      async pull(controller) {
        if (sent === 6) return controller.close();
        if (sent > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        sent++;
        controller.enqueue(new TextEncoder().encode('y'.repeat(LIMIT / 2)));
      },
    });
    const response = await fetch(url, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
    expect(sent).toBe(6);
  });
});
