import { agentHandshakeSchema, type AgentHandshake } from '@stepgate/protocol';
import { hasScope } from '../common/scopes.js';
import { idUnderPrefix } from '../auth/fleet-prefix.js';
import type { AgentBinding, AgentCredential } from '../auth/token.service.js';

/** Why a connection was refused; sent to the agent as `connect_error` `data.code`. */
export type HandshakeErrorCode =
  'request/invalid' | 'auth/unauthenticated' | 'auth/forbidden' | 'service/unavailable';

/**
 * A refused binding: the token is bound to another id, the id to another token, or the id is
 * outside a fleet token's prefix.
 */
export type IdentityRefusal = Extract<
  AgentBinding,
  { why: 'token_bound' | 'id_bound' | 'outside_prefix' }
>;

export type HandshakeResult =
  | { ok: true; handshake: AgentHandshake; credential: AgentCredential }
  | {
      ok: false;
      code: HandshakeErrorCode;
      message: string;
      agentId?: string;
      /** Set when an authenticated token claimed an id it may not have (audited). */
      identity?: { credential: AgentCredential; refusal: IdentityRefusal };
      /** Why an identity was refused (`token_bound`, `id_bound`, `outside_prefix`), for the agent. */
      reason?: IdentityRefusal['why'];
    };

/** Where the handshake checks tokens and the agent id each is bound to. */
export interface HandshakeIdentity {
  authenticate(token: string): Promise<AgentCredential | undefined>;
  /**
   * Binds a token not bound yet to the id it claims (first connect), or a fleet token to an id
   * under its prefix (each id once; a reconnect finds it bound to this token).
   */
  bind(token: string, credential: AgentCredential, agentId: string): Promise<AgentBinding>;
}

const AGENT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Validates `handshake.auth`, authenticates its token (agents need the `agent` scope; `admin`
 * holds every scope) and checks the agent id it claims: a token is bound to one agent id, the
 * first it connects as or the one it was created for, so one agent cannot connect (and then
 * ack or ship decision logs) as another. A fleet token admits the ids under its prefix, each
 * bound to it on first connect; an id outside the prefix is refused without a query. A bound
 * token costs no query here. Messages never contain the token.
 */
export async function authenticateHandshake(
  auth: unknown,
  identity: HandshakeIdentity,
): Promise<HandshakeResult> {
  const claimedId = (auth as { agentId?: unknown } | undefined)?.agentId;
  const agentId = typeof claimedId === 'string' && AGENT_ID.test(claimedId) ? claimedId : undefined;
  const refuse = (code: HandshakeErrorCode, message: string): HandshakeResult => ({
    ok: false,
    code,
    message,
    ...(agentId ? { agentId } : {}),
  });
  const unavailable = () =>
    refuse('service/unavailable', 'cannot check the token now (database unavailable); retry');

  const parsed = agentHandshakeSchema.safeParse(auth ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    const code = issue?.path[0] === 'token' ? 'auth/unauthenticated' : 'request/invalid';
    return refuse(code, `invalid handshake: ${where}${issue?.message ?? 'bad shape'}`);
  }
  const { token } = parsed.data;
  let credential: AgentCredential | undefined;
  try {
    credential = await identity.authenticate(token);
  } catch {
    return unavailable();
  }
  if (!credential) return refuse('auth/unauthenticated', 'invalid or revoked token');
  if (!hasScope(credential.principal, ['agent']))
    return refuse('auth/forbidden', 'this token lacks the "agent" scope');

  const claimed = parsed.data.agentId;
  const prefix = credential.agentIdPrefix;
  let binding: AgentBinding;
  if (prefix !== undefined && !idUnderPrefix(prefix, claimed))
    binding = { ok: false, why: 'outside_prefix', agentId: claimed, prefix };
  else if (prefix === undefined && credential.agentId === claimed)
    binding = { ok: true, agentId: claimed };
  else if (prefix === undefined && credential.agentId !== null)
    binding = { ok: false, why: 'token_bound', agentId: claimed, boundAgentId: credential.agentId };
  else {
    try {
      binding = await identity.bind(token, credential, claimed);
    } catch {
      return unavailable();
    }
  }
  if (binding.ok) return { ok: true, handshake: parsed.data, credential };
  if (binding.why === 'revoked') return refuse('auth/unauthenticated', 'invalid or revoked token');
  return {
    ...(refuse('auth/forbidden', identityMessage(binding)) as Extract<
      HandshakeResult,
      { ok: false }
    >),
    identity: { credential, refusal: binding },
    reason: binding.why,
  };
}

function identityMessage(refusal: IdentityRefusal): string {
  if (refusal.why === 'outside_prefix')
    return `this fleet token admits agent ids starting with "${refusal.prefix}" only; it cannot connect as "${refusal.agentId}" (set STEPGATE_AGENT_ID to an id under the prefix, or use a token for "${refusal.agentId}")`;
  if (refusal.why === 'token_bound')
    return `this token is bound to agent id "${refusal.boundAgentId}"; it cannot connect as "${refusal.agentId}" (one token per agent: create one with POST /v1/tokens {"name":"…","scopes":["agent"],"agentId":"${refusal.agentId}"})`;
  return `agent id "${refusal.agentId}" is bound to another agent token; connect with that token, or revoke it (DELETE /v1/tokens/<id>) to move the id to this one`;
}
