// Stepgate check, the GitHub Action (action.yml). Plain ESM for the runner's Node 20, no
// dependencies, so the committed file is the file that runs (nothing to bundle or install).
//
// The runner's side, as GitHub documents it:
// - inputs arrive as INPUT_<NAME> (upper case, spaces as _), docs.github.com "Metadata syntax
//   for GitHub Actions" (inputs);
// - the job's OIDC token: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud> with
//   "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" answers {"value": "<jwt>"}
//   (docs.github.com "About security hardening with OpenID Connect", methods for requesting
//   the OIDC token; the job needs `permissions: id-token: write`);
// - outputs are appended to the file $GITHUB_OUTPUT and the job summary (Markdown) to
//   $GITHUB_STEP_SUMMARY; `::add-mask::` and `::error::` are workflow commands on stdout
//   (docs.github.com "Workflow commands for GitHub Actions").
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';

const EXIT_FAILED = 1;

/** An input as the runner passes it; `''` when not given. */
export function input(env, name) {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/** `90s`, `10m`, `1h30m`, `0` as seconds; undefined when it is none of these. */
export function durationSeconds(text) {
  if (text === '0') return 0;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === '') return undefined;
  const [, h = '0', m = '0', s = '0'] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/** `kind:id` split at the last colon, or an id whose kind is the action's prefix (as the CLI). */
export function parseResource(resource, kind, action) {
  if (kind !== '') return { kind, id: resource };
  const colon = resource.lastIndexOf(':');
  if (colon > 0 && colon < resource.length - 1)
    return { kind: resource.slice(0, colon), id: resource.slice(colon + 1) };
  const prefix = action.includes(':') ? action.slice(0, action.indexOf(':')) : '';
  return { kind: prefix === '' ? 'resource' : prefix, id: resource };
}

/** `key=value` lines as an object (blank lines skipped). */
export function parseContext(text) {
  const context = {};
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ActionError(`context line "${line}" should be key=value`);
    Object.defineProperty(context, line.slice(0, eq).trim(), {
      value: line.slice(eq + 1).trim(),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return Object.keys(context).length === 0 ? undefined : context;
}

class ActionError extends Error {}

/** Seconds until the JWT expires (unverified: only to know when to ask for a fresh one). */
function secondsLeft(jwt, nowMs) {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
    return typeof payload.exp === 'number' ? payload.exp - nowMs / 1000 : 0;
  } catch {
    return 0;
  }
}

/** The job's OIDC token for `audience`, from the runner. */
async function requestIdToken(env, audience) {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer)
    throw new ActionError(
      'no OIDC token for this job: give the job `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL is not set)',
    );
  let response;
  try {
    response = await fetch(`${url}&audience=${encodeURIComponent(audience)}`, {
      headers: { authorization: `bearer ${bearer}`, accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new ActionError(`cannot request the job's OIDC token: ${error.message}`);
  }
  const body = await response.json().catch(() => undefined);
  if (!response.ok || typeof body?.value !== 'string' || body.value === '')
    throw new ActionError(`the runner gave no OIDC token (HTTP ${response.status})`);
  return body.value;
}

/** POST/GET on the control plane with the job's token; the JSON answer, or an ActionError. */
async function call(base, token, method, path, body) {
  let response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new ActionError(`cannot reach Stepgate at ${base}: ${error.message}`);
  }
  const text = await response.text();
  let json;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    json = {};
  }
  if (!response.ok) {
    const why = typeof json.message === 'string' ? json.message : text.slice(0, 200);
    const error = new ActionError(`Stepgate ${method} ${path}: HTTP ${response.status}: ${why}`);
    error.status = response.status;
    throw error;
  }
  return json;
}

const escapeCell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The job summary: the verdict, who it was for, the rules and what is still needed. */
export function summary(result, request, extra) {
  const { decision } = result;
  const verdict = extra.timedOut
    ? 'timed out waiting for the step-up'
    : { allow: 'allowed', deny: 'denied', step_up: 'step-up needed' }[decision.effect];
  const lines = [
    `### Stepgate: ${verdict}`,
    '',
    `\`${request.action}\` on \`${request.resource.kind}:${request.resource.id}\` for \`${result.principal?.id ?? '?'}\` (revision ${decision.revision}, decision \`${decision.decisionId}\`)`,
    '',
  ];
  if (decision.reasons.length > 0) {
    lines.push('| rule | effect | message |', '| --- | --- | --- |');
    for (const reason of decision.reasons)
      lines.push(
        `| ${escapeCell(`${reason.policy}/${reason.rule}`)} | ${reason.effect} | ${escapeCell(reason.message ?? '')} |`,
      );
    lines.push('');
  }
  if (decision.effect === 'step_up') {
    const need = decision.require ?? {};
    const parts = [];
    if (need.level) parts.push(`level ${need.level}`);
    if (need.maxAge) parts.push(`authenticated within ${need.maxAge}s`);
    if (need.approvals) parts.push(`${need.approvals} approval(s)`);
    lines.push(`Needed: ${parts.join(', ') || 'a step-up'}.`);
    if (result.satisfy?.elevate)
      lines.push('', `The actor elevates: \`${result.satisfy.elevate}\``);
    if (extra.approvalId)
      lines.push('', `Approvers run: \`npx stepgate approve ${extra.approvalId}\``);
  }
  return `${lines.join('\n')}\n`;
}

/** `name<<delimiter` blocks, so JSON and multi-line values are safe in $GITHUB_OUTPUT. */
function writeOutputs(file, outputs) {
  if (!file) return;
  let text = '';
  for (const [name, value] of Object.entries(outputs)) {
    const delimiter = `ghadelimiter_${randomUUID()}`;
    text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  }
  appendFileSync(file, text);
}

/**
 * Runs the step; resolves with the exit code. `io`: env, stdout, sleep and now, so the test
 * harness and the runner use the same code.
 */
export async function run(io) {
  const { env, stdout } = io;
  const sleep = io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const now = io.now ?? (() => Date.now());
  const log = (line) => stdout.write(`${line}\n`);
  const fail = (message) => {
    log(`::error title=Stepgate::${message.replace(/\r?\n/g, ' ')}`);
    return EXIT_FAILED;
  };
  try {
    const base = input(env, 'url').replace(/\/+$/, '');
    const action = input(env, 'action');
    const resourceText = input(env, 'resource');
    if (!/^https?:\/\//.test(base)) throw new ActionError('input url must be an http(s) URL');
    if (action === '') throw new ActionError('input action is required');
    if (resourceText === '') throw new ActionError('input resource is required');
    const timeout = durationSeconds(input(env, 'timeout') || '10m');
    const poll = durationSeconds(input(env, 'poll-interval') || '5s');
    if (timeout === undefined) throw new ActionError('input timeout must be like 90s, 10m or 1h');
    if (poll === undefined || poll === 0)
      throw new ActionError('input poll-interval must be like 5s or 1m');
    const audience = input(env, 'audience') || 'stepgate';
    const request = {
      action,
      resource: parseResource(resourceText, input(env, 'resource-kind'), action),
    };
    const context = parseContext(input(env, 'context'));
    if (context) request.context = context;

    let token = await requestIdToken(env, audience);
    // Never printed in a log, even by accident (the runner masks it from here on).
    log(`::add-mask::${token}`);
    const freshToken = async () => {
      if (secondsLeft(token, now()) > 60) return token;
      token = await requestIdToken(env, audience);
      log(`::add-mask::${token}`);
      return token;
    };

    let result = await call(base, token, 'POST', '/v1/check', request);
    const principal = result.principal?.id ?? '?';
    log(
      `Stepgate: ${result.decision.effect} ${action} on ${request.resource.kind}:${request.resource.id} for ${principal}`,
    );
    let approvalId;
    let timedOut = false;
    if (result.decision.effect === 'step_up') {
      const unmet = result.decision.unmet ?? [];
      if (unmet.includes('approvals') && (result.decision.require?.approvals ?? 0) > 0) {
        const reason =
          input(env, 'approval-reason') ||
          `${env.GITHUB_REPOSITORY ?? 'a repository'}: workflow ${env.GITHUB_WORKFLOW ?? '?'}, run ${env.GITHUB_RUN_ID ?? '?'} (${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY ?? ''}/actions/runs/${env.GITHUB_RUN_ID ?? ''})`;
        const approval = await call(base, await freshToken(), 'POST', '/v1/approvals', {
          action,
          resource: { kind: request.resource.kind, id: request.resource.id },
          reason: reason.slice(0, 1000),
          ...(context ? { context } : {}),
          ttlSeconds: Math.min(86_400, Math.max(30, timeout)),
        });
        approvalId = approval.id;
        log(
          `Approval request ${approvalId} opened (${approval.required} approval(s) needed): approvers run npx stepgate approve ${approvalId}`,
        );
      }
      if (result.satisfy?.elevate) log(`The actor elevates: ${result.satisfy.elevate}`);
      const deadline = now() + timeout * 1000;
      while (result.decision.effect === 'step_up') {
        if (now() >= deadline) {
          timedOut = true;
          break;
        }
        await sleep(Math.min(poll * 1000, Math.max(0, deadline - now())));
        result = await call(base, await freshToken(), 'POST', '/v1/check', request);
      }
      log(`Stepgate: ${timedOut ? 'still step_up at the timeout' : result.decision.effect}`);
    }

    const { decision } = result;
    writeOutputs(env.GITHUB_OUTPUT, {
      effect: decision.effect,
      reasons: JSON.stringify(decision.reasons),
      requirement: JSON.stringify(decision.effect === 'step_up' ? (decision.require ?? {}) : {}),
      principal: result.principal?.id ?? '',
      'decision-id': decision.decisionId,
      'approval-id': approvalId ?? '',
    });
    if (env.GITHUB_STEP_SUMMARY)
      appendFileSync(env.GITHUB_STEP_SUMMARY, summary(result, request, { timedOut, approvalId }));
    if (decision.effect === 'allow') return 0;
    const why = decision.reasons
      .filter((reason) => reason.effect === decision.effect)
      .map(
        (reason) => `${reason.policy}/${reason.rule}${reason.message ? `: ${reason.message}` : ''}`,
      )
      .join('; ');
    if (timedOut)
      return fail(
        `timed out after ${input(env, 'timeout') || '10m'} waiting for the step-up (${why})`,
      );
    return fail(
      `denied ${action} on ${request.resource.kind}:${request.resource.id}: ${why || 'no policy allows it'}`,
    );
  } catch (error) {
    if (error instanceof ActionError) return fail(error.message);
    return fail(`unexpected error: ${error?.message ?? error}`);
  }
}

// Run when the runner starts this file (not when a test imports it).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await run({ env: process.env, stdout: process.stdout });
}
