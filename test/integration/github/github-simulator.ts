/**
 * A local stand-in for the two GitHub REST endpoints the deployment protection rule calls, and
 * the webhook GitHub sends it. GitHub cannot be reached from here; everything else is real.
 *
 * Shapes and rules from GitHub's documentation:
 * - The webhook: https://docs.github.com/en/webhooks/webhook-events-and-payloads#deployment_protection_rule
 *   (action `requested`, `environment`, `event`, `deployment_callback_url`, `deployment`,
 *   `pull_requests`, `repository`, `organization`, `installation`, `sender`), signed as
 *   https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries says
 *   (`X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`, `X-GitHub-Delivery` GUID).
 * - The installation token: https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app
 *   (`POST /app/installations/{installation_id}/access_tokens`, a JWT signed RS256 with the
 *   App's private key, `iss` = the App id, at most 10 minutes; 201 with `token`, `expires_at`).
 * - The review: https://docs.github.com/en/rest/actions/workflow-runs#review-custom-deployment-protection-rules-for-a-workflow-run
 *   (`POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`, body
 *   `environment_name` and `state` `approved`|`rejected` with an optional `comment`, or only a
 *   `comment`: a status report; 204) and
 *   https://docs.github.com/en/actions/how-tos/deploy/configure-and-manage-deployments/create-custom-protection-rules
 *   (status reports: up to 10 per deployment, Markdown, up to 1024 characters).
 */
import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';

export interface Review {
  runId: number;
  environment_name: string;
  state?: 'approved' | 'rejected';
  comment?: string;
  /** The installation whose token authorised it. */
  installationId: number;
}

export interface Repository {
  owner: string;
  name: string;
  id: number;
  installationId: number;
}

export interface GitHubSimulator {
  /** The REST API root, as STEPGATE_GITHUB_API_URL. */
  apiUrl: string;
  appId: string;
  /** PKCS#8 PEM, as GitHub's generated .pem (STEPGATE_GITHUB_APP_PRIVATE_KEY). */
  privateKey: string;
  webhookSecret: string;
  reviews: Review[];
  /** Requests refused, with the reason: none expected in a passing run. */
  refused: string[];
  tokensIssued: number;
  close(): Promise<void>;
}

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });

export async function startGitHubSimulator(repositories: Repository[]): Promise<GitHubSimulator> {
  const appId = String(100_000 + Math.floor(Math.random() * 100_000));
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const appKey = await importSPKI(publicPem, 'RS256');
  const tokens = new Map<string, number>(); // installation token -> installation id
  const simulator: GitHubSimulator = {
    apiUrl: '',
    appId,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    webhookSecret: randomBytes(24).toString('hex'),
    reviews: [],
    refused: [],
    tokensIssued: 0,
    close: async () => undefined,
  };

  const server: Server = createServer((request, response) => {
    const reply = (status: number, body?: unknown) => {
      response.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      response.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const refuse = (status: number, message: string) => {
      simulator.refused.push(`${request.method} ${request.url}: ${message}`);
      reply(status, { message, documentation_url: 'https://docs.github.com/rest' });
    };
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://github.test');
      const bearer = /^(?:Bearer|token) (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const tokenRoute = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(url.pathname);
      if (request.method === 'POST' && tokenRoute) {
        // Authenticating as the App: a JWT signed with its private key, issued by its id.
        try {
          const { payload } = await jwtVerify(bearer ?? '', appKey, { algorithms: ['RS256'] });
          if (String(payload.iss) !== appId) return refuse(401, 'JWT iss is not the App id');
          if ((payload.exp ?? 0) - (payload.iat ?? 0) > 600)
            return refuse(401, "'Expiration time' claim ('exp') is too far in the future");
        } catch (error) {
          return refuse(401, `A JSON web token could not be decoded (${(error as Error).message})`);
        }
        const installationId = Number(tokenRoute[1]);
        if (!repositories.some((repo) => repo.installationId === installationId))
          return refuse(404, 'Not Found');
        const token = `ghs_${randomBytes(18).toString('hex')}`;
        tokens.set(token, installationId);
        simulator.tokensIssued++;
        return reply(201, {
          token,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: { actions: 'read', deployments: 'write' },
          repository_selection: 'selected',
        });
      }
      const reviewRoute =
        /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/deployment_protection_rule$/.exec(
          url.pathname,
        );
      if (request.method === 'POST' && reviewRoute) {
        const installationId = bearer === undefined ? undefined : tokens.get(bearer);
        if (installationId === undefined) return refuse(401, 'Bad credentials');
        const [, owner, name, runId] = reviewRoute as unknown as [string, string, string, string];
        const repo = repositories.find((r) => r.owner === owner && r.name === name);
        if (!repo || repo.installationId !== installationId)
          return refuse(404, 'Not Found (the installation cannot see this repository)');
        let body: { environment_name?: unknown; state?: unknown; comment?: unknown };
        try {
          body = JSON.parse(await readBody(request)) as typeof body;
        } catch {
          return refuse(400, 'Problems parsing JSON');
        }
        if (typeof body.environment_name !== 'string')
          return refuse(422, 'environment_name is required');
        if (body.state !== undefined && body.state !== 'approved' && body.state !== 'rejected')
          return refuse(422, 'state must be approved or rejected');
        if (body.state === undefined && typeof body.comment !== 'string')
          return refuse(422, 'comment is required when state is not provided');
        if (typeof body.comment === 'string' && body.comment.length > 1024)
          return refuse(422, 'comment is too long (maximum is 1024 characters)');
        const run = simulator.reviews.filter((r) => r.runId === Number(runId));
        if (run.some((r) => r.state !== undefined))
          return refuse(422, 'the deployment protection rule was reviewed already');
        if (body.state === undefined && run.length >= 10)
          return refuse(422, 'at most 10 status reports per deployment');
        simulator.reviews.push({
          runId: Number(runId),
          environment_name: body.environment_name,
          ...(body.state !== undefined ? { state: body.state } : {}),
          ...(typeof body.comment === 'string' ? { comment: body.comment } : {}),
          installationId,
        } as Review);
        return reply(204);
      }
      return refuse(404, 'Not Found');
    })().catch((error: Error) => refuse(500, error.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  simulator.apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  simulator.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return simulator;
}

export interface DeploymentOptions {
  repository: Repository;
  environment: string;
  /** The deployment's creator (the actor who triggered the workflow run). */
  creator: string;
  runId: number;
  ref?: string;
  event?: string;
}

/** A `deployment_protection_rule` payload as GitHub's webhook documentation shows it. */
export function deploymentProtectionRulePayload(
  simulator: GitHubSimulator,
  options: DeploymentOptions,
): Record<string, unknown> {
  const { repository: repo } = options;
  const fullName = `${repo.owner}/${repo.name}`;
  const sha = randomBytes(20).toString('hex');
  const user = (login: string, id: number) => ({
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    url: `${simulator.apiUrl}/users/${login}`,
    html_url: `https://github.com/${login}`,
    type: 'User',
    site_admin: false,
  });
  const deploymentId = 1_000_000 + options.runId;
  return {
    action: 'requested',
    environment: options.environment,
    event: options.event ?? 'push',
    deployment_callback_url: `${simulator.apiUrl}/repos/${fullName}/actions/runs/${options.runId}/deployment_protection_rule`,
    deployment: {
      url: `${simulator.apiUrl}/repos/${fullName}/deployments/${deploymentId}`,
      id: deploymentId,
      node_id: `DE_${deploymentId}`,
      task: 'deploy',
      original_environment: options.environment,
      environment: options.environment,
      description: null,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
      statuses_url: `${simulator.apiUrl}/repos/${fullName}/deployments/${deploymentId}/statuses`,
      repository_url: `${simulator.apiUrl}/repos/${fullName}`,
      creator: user(options.creator, 7000 + options.creator.length),
      sha,
      ref: options.ref ?? 'main',
      payload: {},
      transient_environment: false,
      production_environment: options.environment === 'production',
      performed_via_github_app: null,
    },
    pull_requests: [],
    repository: {
      id: repo.id,
      node_id: `R_${repo.id}`,
      name: repo.name,
      full_name: fullName,
      private: true,
      owner: { ...user(repo.owner, 9000), type: 'Organization' },
      html_url: `https://github.com/${fullName}`,
      default_branch: 'main',
    },
    organization: { login: repo.owner, id: 9000, node_id: 'O_9000' },
    installation: { id: repo.installationId, node_id: `MDIz${repo.installationId}` },
    sender: user(options.creator, 7000 + options.creator.length),
  };
}

/** Headers and body of a delivery, signed with `secret` (a wrong one makes a bad signature). */
export function signedDelivery(
  body: string,
  secret: string,
  event = 'deployment_protection_rule',
  delivery: string = randomUUID(),
): { headers: Record<string, string>; body: string; delivery: string } {
  return {
    delivery,
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/044aadd',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-github-hook-id': '292430182',
      'x-github-hook-installation-target-type': 'integration',
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  };
}
