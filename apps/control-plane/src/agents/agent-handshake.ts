import { agentHandshakeSchema, type AgentHandshake } from '@stepgate/protocol';
import { hasScope, type Principal } from '../auth/scopes.js';

/** Why a connection was refused; sent to the agent as `connect_error` `data.code`. */
export type HandshakeErrorCode =
  'request/invalid' | 'auth/unauthenticated' | 'auth/forbidden' | 'service/unavailable';

export type HandshakeResult =
  | { ok: true; handshake: AgentHandshake; principal: Principal }
  | { ok: false; code: HandshakeErrorCode; message: string; agentId?: string };

const AGENT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Validates `handshake.auth` and authenticates its token: agents need the `agent` scope
 * (`admin` holds every scope). Messages never contain the token.
 */
export async function authenticateHandshake(
  auth: unknown,
  authenticate: (token: string) => Promise<Principal | undefined>,
): Promise<HandshakeResult> {
  const claimedId = (auth as { agentId?: unknown } | undefined)?.agentId;
  const agentId = typeof claimedId === 'string' && AGENT_ID.test(claimedId) ? claimedId : undefined;
  const refuse = (code: HandshakeErrorCode, message: string): HandshakeResult => ({
    ok: false,
    code,
    message,
    ...(agentId ? { agentId } : {}),
  });

  const parsed = agentHandshakeSchema.safeParse(auth ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    const code = issue?.path[0] === 'token' ? 'auth/unauthenticated' : 'request/invalid';
    return refuse(code, `invalid handshake: ${where}${issue?.message ?? 'bad shape'}`);
  }
  let principal: Principal | undefined;
  try {
    principal = await authenticate(parsed.data.token);
  } catch {
    return refuse(
      'service/unavailable',
      'cannot check the token now (database unavailable); retry',
    );
  }
  if (!principal) return refuse('auth/unauthenticated', 'invalid or revoked token');
  if (!hasScope(principal, ['agent']))
    return refuse('auth/forbidden', 'this token lacks the "agent" scope');
  return { ok: true, handshake: parsed.data, principal };
}
