/**
 * The agent's OpenAPI document at /openapi.json and its API reference at /docs, from a real
 * agent process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, toJwks } from '@stepgate/protocol';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDocsPage } from '../../support/docs-page.js';
import {
  cleanup,
  ensureAgentBuilt,
  FakeControlPlane,
  startAgentProcess,
  tempDir,
  type AgentProcess,
} from './support.js';

let plane: FakeControlPlane;
let agent: AgentProcess;
const dirs: string[] = [];

beforeAll(async () => {
  await ensureAgentBuilt();
  const jwks = toJwks([(await generateSigningKey()).publicJwk]);
  const keysDir = tempDir('docs-keys');
  dirs.push(keysDir);
  const keysFile = join(keysDir, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(jwks));
  plane = await FakeControlPlane.start(jwks);
  const cacheDir = tempDir('docs-cache');
  dirs.push(cacheDir);
  agent = await startAgentProcess(
    {
      STEPGATE_URL: plane.url,
      STEPGATE_AGENT_TOKEN: plane.token,
      STEPGATE_TRUSTED_KEYS: keysFile,
      STEPGATE_AGENT_ID: 'agent-docs',
    },
    cacheDir,
  );
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  await plane?.stop();
  cleanup(...dirs);
});

describe('agent API reference', () => {
  it('/docs is Swagger UI served by the agent, on the agent’s own /openapi.json', async () => {
    const { document } = await checkDocsPage(agent.url);
    const paths = Object.keys(document.paths);
    for (const path of [
      '/v1/decide',
      '/access/v1/evaluation',
      '/access/v1/evaluations',
      '/access/v1/search/subject',
      '/access/v1/search/resource',
      '/access/v1/search/action',
      '/v1/authz/http',
      '/v1/k8s/admission',
      '/docs',
    ])
      expect(paths, path).toContain(path);
  });

  it('/openapi.json answers without a bundle, and an unknown docs file is a JSON 404', async () => {
    const response = await fetch(`${agent.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { info: { title: string } }).info.title).toBe(
      'Stepgate agent',
    );
    const missing = await fetch(`${agent.url}/docs/assets/index.html`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'route/not_found' });
  });
});
