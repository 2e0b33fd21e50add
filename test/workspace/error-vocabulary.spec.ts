import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgumentsHost } from '@nestjs/common';
import type { DecisionPoint, Logger } from '@stepgate/agent-core';
import { ERROR_CODES } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { createHttpServer } from '../../apps/agent/src/http/server.js';
import { HttpExceptionFilter } from '../../apps/control-plane/src/common/http-exception.filter.js';

/**
 * One error vocabulary (STYLE "Errors"): every code an app puts on the wire is one of the
 * protocol's ERROR_CODES, and both apps answer an unexpected failure with the same body, an
 * id to find in the log and nothing else.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'generated') found.push(...sources(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) found.push(path);
  }
  return found;
}

/**
 * Codes as the apps write them: a `StepgateError('…'` (typed, so also a compile error) or a
 * body built by hand, `error: '…'` (an HTTP enforcement answer, the agent's 401/403). Only
 * code-shaped values (`area/what`, `internal`): an `error:` that holds a sentence (a socket
 * acknowledgement) is not a code.
 */
const CODE = /(?:StepgateError\(\s*|\berror:\s*)'([a-z_]+(?:\/[a-z_]+)?)'/g;

export function emittedCodes(text: string): string[] {
  return [...text.matchAll(CODE)].map((match) => match[1] as string);
}

describe('error codes', () => {
  const dirs = ['apps/agent/src', 'apps/control-plane/src', 'packages/agent-core/src'];
  const found = dirs.flatMap((dir) =>
    sources(join(ROOT, dir)).flatMap((file) =>
      emittedCodes(readFileSync(file, 'utf8')).map((code) => ({
        file: relative(ROOT, file),
        code,
      })),
    ),
  );

  it('finds the codes the apps emit (the scan itself works)', () => {
    expect(emittedCodes(`throw new StepgateError(\n  'grant/not_found', 'x');`)).toEqual([
      'grant/not_found',
    ]);
    expect(emittedCodes(`body: { error: 'auth/forbidden', message }`)).toEqual(['auth/forbidden']);
    const codes = new Set(found.map((entry) => entry.code));
    for (const code of ['auth/invalid_token', 'auth/forbidden', 'route/not_found'])
      expect(codes.has(code), code).toBe(true);
  });

  it('every code the apps emit is in the protocol list', () => {
    const known = new Set<string>(ERROR_CODES);
    expect(found.filter((entry) => !known.has(entry.code))).toEqual([]);
  });
});

describe('a 500 answers the same in both apps', () => {
  const secret = 'postgres://admin:hunter2@db/stepgate';
  const shape = (body: unknown, logged: string) => {
    const errorId = (body as { details?: { errorId?: string } }).details?.errorId ?? '';
    expect(errorId).toMatch(/^[0-9a-f-]{36}$/);
    // The id is in the log, with the error; the answer has the id and nothing of the error.
    expect(logged).toContain(errorId);
    expect(logged).toContain('hunter2');
    expect(JSON.stringify(body)).not.toContain('hunter2');
    return JSON.parse(JSON.stringify(body).replaceAll(errorId, '<id>')) as unknown;
  };

  const agent500 = async () => {
    const lines: string[] = [];
    const record = (...args: unknown[]) =>
      lines.push(
        JSON.stringify(args, (_key, value: unknown) =>
          value instanceof Error ? value.stack : value,
        ),
      );
    const logger = { debug: record, info: record, warn: record, error: record } as Logger;
    const point = {
      levels: [],
      decide: () => {
        throw new Error(`cannot reach ${secret}`);
      },
    } as unknown as DecisionPoint;
    const server = createHttpServer({
      point,
      metrics: () => undefined,
      logger,
      challenge: 'rfc9470',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/v1/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          principal: { id: 'alice' },
          action: 'read',
          resource: { kind: 'doc', id: '1' },
        }),
      });
      return { status: response.status, body: shape(await response.json(), lines.join('\n')) };
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  };

  const controlPlane500 = () => {
    const lines: string[] = [];
    const logger = {
      error: (fields: { err?: Error }, message: string) =>
        lines.push(`${message} ${JSON.stringify(fields)} ${fields.err?.message ?? ''}`),
    };
    let answer: { status: number; body: unknown } = { status: 0, body: undefined };
    const response = {
      headersSent: false,
      hasHeader: () => false,
      setHeader: () => undefined,
      status(status: number) {
        answer.status = status;
        return { json: (body: unknown) => (answer = { status, body }) };
      },
    };
    const host = {
      switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ headers: {} }) }),
    } as unknown as ArgumentsHost;
    new HttpExceptionFilter(logger as never).catch(new Error(`cannot reach ${secret}`), host);
    return { status: answer.status, body: shape(answer.body, lines.join('\n')) };
  };

  it('is 500 {error: internal, message, details: {errorId}} in the agent and the control plane', async () => {
    const agent = await agent500();
    const controlPlane = controlPlane500();
    expect(agent).toEqual(controlPlane);
    expect(agent).toEqual({
      status: 500,
      body: {
        error: 'internal',
        message: 'internal error (id <id>)',
        details: { errorId: '<id>' },
      },
    });
  });
});
