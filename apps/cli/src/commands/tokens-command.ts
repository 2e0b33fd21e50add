import { InvalidArgumentError, type Command } from 'commander';
import { SCOPE_NAMES, type TokenView } from '@stepgate/protocol';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { nonEmpty } from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import { formatTable, formatUtc, printable, type Column } from '../output/table.js';

type Scope = (typeof SCOPE_NAMES)[number];

export interface CreateTokenOptions extends AdminOptions {
  name?: string;
  scopes?: Scope[];
  subject?: string;
  agentId?: string;
  agentIdPrefix?: string;
}

export interface TokensOptions extends AdminOptions {
  all?: boolean;
}

/** commander parser for `--scopes viewer,operator` (repeatable), checked against the scopes. */
export function parseScopes(value: string, previous: Scope[] = []): Scope[] {
  const scopes = value
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope !== '');
  for (const scope of scopes) {
    if (!(SCOPE_NAMES as readonly string[]).includes(scope)) {
      throw new InvalidArgumentError(`'${scope}' is not a scope; use ${SCOPE_NAMES.join(', ')}.`);
    }
  }
  return [...new Set([...previous, ...(scopes as Scope[])])];
}

export const TOKEN_SHOWN_ONCE =
  'warning: this is the only time the token is shown (it is stored hashed); store it now, e.g. in a secret manager';

/** `stepgate tokens create`: a new API token, printed once. */
export async function createTokenCommand(
  options: CreateTokenOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('tokens create', options, io, async (client) => {
    const name = nonEmpty(options.name);
    if (name === undefined)
      throw new UsageError('name the token: --name <name>, e.g. --name ci-billing');
    if (options.scopes === undefined || options.scopes.length === 0) {
      throw new UsageError(`give its scopes: --scopes <list>, from ${SCOPE_NAMES.join(', ')}`);
    }
    const created = await client.createToken({
      name,
      scopes: options.scopes,
      ...(nonEmpty(options.subject) === undefined ? {} : { subject: nonEmpty(options.subject) }),
      ...(nonEmpty(options.agentId) === undefined ? {} : { agentId: nonEmpty(options.agentId) }),
      ...(nonEmpty(options.agentIdPrefix) === undefined
        ? {}
        : { agentIdPrefix: nonEmpty(options.agentIdPrefix) }),
    });
    io.stderr.write(`${TOKEN_SHOWN_ONCE}\n`);
    return {
      data: created,
      text: [
        `Created token ${printable(created.name)} (id ${printable(created.id)}, subject ${printable(created.subject)}, scopes ${created.scopes.join(',')}${agentOf(created)}):`,
        '',
        `  ${printable(created.token)}`,
      ].join('\n'),
    };
  });
}

/** `stepgate tokens`: the tokens in force (--all: revoked too), never their secrets. */
export async function tokensCommand(
  options: TokensOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('tokens', options, io, async (client) => {
    const list = await client.listTokens();
    const tokens =
      options.all === true ? list.tokens : list.tokens.filter((t) => t.revokedAt === null);
    return {
      data: { tokens },
      text: tokens.length === 0 ? 'No tokens.' : formatTokenTable(tokens),
    };
  });
}

/** `stepgate tokens revoke <id>`: the token stops working at once. */
export async function revokeTokenCommand(
  id: string,
  options: AdminOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('tokens revoke', options, io, async (client) => {
    const ref = nonEmpty(id);
    if (ref === undefined) throw new UsageError('which token? stepgate tokens revoke <id>');
    await client.revokeToken(ref);
    return { data: { id: ref, revoked: true }, text: `Revoked token ${printable(ref)}` };
  });
}

/** The agent ids an agent token admits, for people: `, agent web-1` or `, agents node-*`. */
function agentOf(token: Pick<TokenView, 'agentId' | 'agentIdPrefix'>): string {
  if (token.agentIdPrefix) return `, agents ${printable(token.agentIdPrefix)}*`;
  return token.agentId === null ? '' : `, agent ${printable(token.agentId)}`;
}

function formatTokenTable(tokens: readonly TokenView[]): string {
  const columns: Column<TokenView>[] = [
    { header: 'ID', value: (t) => t.id },
    { header: 'NAME', value: (t) => t.name, maxWidth: 32 },
    { header: 'SUBJECT', value: (t) => t.subject, maxWidth: 32 },
    { header: 'PREFIX', value: (t) => t.prefix },
    { header: 'SCOPES', value: (t) => t.scopes.join(',') },
    // One agent id, or a fleet token's prefix followed by `*`.
    {
      header: 'AGENT',
      value: (t) => (t.agentIdPrefix ? `${t.agentIdPrefix}*` : (t.agentId ?? '-')),
      maxWidth: 32,
    },
    { header: 'CREATED (UTC)', value: (t) => formatUtc(t.createdAt) },
    {
      header: 'LAST USED (UTC)',
      value: (t) => (t.lastUsedAt === null ? '-' : formatUtc(t.lastUsedAt)),
    },
    {
      header: 'REVOKED (UTC)',
      value: (t) => (t.revokedAt === null ? '-' : formatUtc(t.revokedAt)),
    },
  ];
  return formatTable(columns, tokens);
}

export function registerTokensCommand(program: Command): void {
  const tokens = addAdminOptions(
    program
      .command('tokens')
      .description('list API tokens (admin; never the secrets)')
      .option('--all', 'include revoked tokens'),
  ).action(async (options: TokensOptions) => {
    process.exitCode = await tokensCommand(options);
  });
  addAdminOptions(
    tokens
      .command('list')
      .description('list API tokens (the same as `stepgate tokens`)')
      .option('--all', 'include revoked tokens'),
  ).action(async (options: TokensOptions) => {
    process.exitCode = await tokensCommand(options);
  });
  addAdminOptions(
    tokens
      .command('create')
      .description('create an API token; it is printed once (admin; may need a step-up)')
      .requiredOption('--name <name>', 'what the token is for, e.g. ci-billing')
      .requiredOption(
        '--scopes <list>',
        `comma-separated scopes: ${SCOPE_NAMES.join(', ')}`,
        parseScopes,
      )
      .option('--subject <subject>', 'the principal it acts for (default: the name)')
      .option('--agent-id <id>', 'agent tokens: bind it to this agent id now')
      .option(
        '--agent-id-prefix <prefix>',
        'a fleet token: admits every agent id starting with <prefix> (e.g. node- for a DaemonSet), each bound to it on first connect',
      ),
  ).action(async (options: CreateTokenOptions) => {
    process.exitCode = await createTokenCommand(options);
  });
  addAdminOptions(
    tokens
      .command('revoke')
      .description('revoke a token at once (admin; may need a step-up)')
      .argument('<id>', 'the token id (from `stepgate tokens`)'),
  ).action(async (id: string, options: AdminOptions) => {
    process.exitCode = await revokeTokenCommand(id, options);
  });
}
