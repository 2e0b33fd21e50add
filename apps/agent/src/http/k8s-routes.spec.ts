import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDecision, DecidePointOptions } from '@stepgate/agent-core';
import type { AuthEvidence, DecisionRequest } from '@stepgate/policy';
import { errorStatus, StepgateError } from '@stepgate/protocol';
import {
  K8S_ADMISSION_PATH,
  K8S_AUTHORIZE_PATH,
  k8sRoutes,
  MAX_REVIEW_BYTES,
} from './k8s-routes.js';

/** Records every decide call; always allows. */
class RecordingPoint {
  readonly calls: {
    request: DecisionRequest;
    evidence?: AuthEvidence;
    options?: DecidePointOptions;
  }[] = [];
  decide(
    request: DecisionRequest,
    evidence?: AuthEvidence,
    options?: DecidePointOptions,
  ): AgentDecision {
    this.calls.push({
      request,
      ...(evidence ? { evidence } : {}),
      ...(options ? { options } : {}),
    });
    return {
      effect: 'allow',
      reasons: [{ policy: 'p', rule: 'r', effect: 'allow' }],
      revision: 1,
      decisionId: 'id-1',
      durationNs: 0,
    };
  }
}

const point = new RecordingPoint();
let server: Server;
let base: string;

beforeAll(async () => {
  const routes = k8sRoutes(point);
  // The same error answer the agent's server gives (status from StepgateError).
  server = createServer((req, res) => {
    const handler = routes[req.url ?? '']?.[req.method ?? ''];
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    handler(req, res).catch((error: unknown) => {
      const status = error instanceof StepgateError ? errorStatus(error) : 500;
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: 'request/invalid', message: (error as Error).message }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((done) => server.close(() => done())));

function review(dryRun: boolean) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'abc',
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'prod',
      name: 'app-config',
      operation: 'UPDATE',
      userInfo: { username: 'alice' },
      dryRun,
    },
  };
}

async function post(path: string, body: string) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('k8sRoutes', () => {
  it('records real admission requests and not dry runs', async () => {
    point.calls.length = 0;
    const real = await post(K8S_ADMISSION_PATH, JSON.stringify(review(false)));
    const dry = await post(K8S_ADMISSION_PATH, JSON.stringify(review(true)));
    expect(real.status).toBe(200);
    expect(dry.body.response).toMatchObject({ uid: 'abc', allowed: true });
    expect(point.calls.map((call) => call.options?.record)).toEqual([true, false]);
    // No bearer evidence from the API server's call: grants come from the control plane.
    expect(point.calls.every((call) => call.evidence === undefined)).toBe(true);
  });

  it('answers SubjectAccessReviews', async () => {
    const result = await post(
      K8S_AUTHORIZE_PATH,
      JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: 'jane',
          resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'dev' },
        },
      }),
    );
    expect(result).toMatchObject({ status: 200, body: { status: { allowed: true } } });
  });

  it('refuses empty, non-JSON and oversized bodies with clear errors', async () => {
    expect(await post(K8S_ADMISSION_PATH, '')).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/body is empty/) },
    });
    expect(await post(K8S_AUTHORIZE_PATH, '{nope')).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/not valid JSON/) },
    });
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_REVIEW_BYTES) });
    expect(await post(K8S_ADMISSION_PATH, big)).toMatchObject({
      status: 413,
      body: { message: expect.stringMatching(/exceeds/) },
    });
  });

  it('accepts a review larger than the general 1 MiB limit (a big ConfigMap update)', async () => {
    const body = review(false) as any;
    body.request.object = {
      metadata: { name: 'app-config' },
      data: { blob: 'x'.repeat(1_400_000) },
    };
    body.request.oldObject = {
      metadata: { name: 'app-config' },
      data: { blob: 'y'.repeat(1_400_000) },
    };
    expect((await post(K8S_ADMISSION_PATH, JSON.stringify(body))).status).toBe(200);
  });

  it('refuses a review whose decision input is past a size limit, before deciding', async () => {
    point.calls.length = 0;
    const body = review(false) as any;
    body.request.userInfo = { username: 'u'.repeat(1025) };
    const admission = await post(K8S_ADMISSION_PATH, JSON.stringify(body));
    expect(admission).toMatchObject({
      status: 400,
      body: {
        message:
          'the decision input built from this review is too large: principal.id is 1025 characters long; the limit is 1024',
      },
    });
    const access = await post(
      K8S_AUTHORIZE_PATH,
      JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: 'jane',
          nonResourceAttributes: { verb: 'get', path: `/${'p'.repeat(4096)}` },
        },
      }),
    );
    expect(access.status).toBe(400);
    expect(access.body.message).toMatch(/resource\.id is 4097 characters long; the limit is 4096/);
    expect(point.calls).toHaveLength(0);
  });
});
