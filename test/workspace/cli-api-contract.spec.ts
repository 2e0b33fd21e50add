/**
 * One admin-API contract: the CLI reads every answer of the control plane with the zod schemas
 * of packages/protocol (which the control plane's types and the OpenAPI document come from too)
 * and declares no API shapes of its own. Fails when a client method skips the schema, passes
 * one that is not the protocol's, or when a hand-written copy of a wire type comes back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ControlPlaneClient,
  ControlPlaneError,
  type ControlPlaneApi,
} from '../../apps/cli/src/api/control-plane-client.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CLIENT = 'apps/cli/src/api/control-plane-client.ts';

/** Every call of the client, typed by its interface: a new method must be added here. */
const CALLS: { [K in keyof ControlPlaneApi]: (api: ControlPlaneApi) => Promise<unknown> } = {
  listVersions: (api) => api.listVersions({ limit: 1 }),
  getVersion: (api) => api.getVersion('12'),
  activate: (api) => api.activate('12'),
  rollback: (api) => api.rollback({ reason: 'r' }),
  setShadow: (api) => api.setShadow('12'),
  clearShadow: (api) => api.clearShadow(),
  listAudit: (api) => api.listAudit({ limit: 1 }),
  check: (api) =>
    api.check({ principal: { id: 'a' }, action: 'x', resource: { kind: 'k', id: 'i' } }),
  enrollTotp: (api) => api.enrollTotp({}),
  confirmTotp: (api) => api.confirmTotp('123456'),
  elevateTotp: (api) => api.elevateTotp({ code: '123456' }),
  createEnrolmentCode: (api) => api.createEnrolmentCode({ subject: 'alice' }),
  listEnrolmentCodes: (api) => api.listEnrolmentCodes({}),
  revokeEnrolmentCode: (api) => api.revokeEnrolmentCode('c1'),
  listGrants: (api) => api.listGrants({}),
  revokeGrant: (api) => api.revokeGrant('g1'),
  createApproval: (api) =>
    api.createApproval({ action: 'x', resource: { kind: 'k', id: 'i' }, reason: 'r' }),
  listApprovals: (api) => api.listApprovals({}),
  getApproval: (api) => api.getApproval('a1'),
  decideApproval: (api) => api.decideApproval('a1', 'approve'),
  listData: (api) => api.listData(),
  getData: (api) => api.getData('blocked_ips'),
  writeData: (api) => api.writeData({ method: 'PUT', name: 'freeze', json: 'true', reason: 'r' }),
  dataHistory: (api) => api.dataHistory('blocked_ips', { limit: 1 }),
  startReplay: (api) => api.startReplay('12', { since: '2026-12-01T00:00:00Z' }),
  startLocalReplay: (api) => api.startLocalReplay({ format: 1 }, { since: '2026-12-01T00:00:00Z' }),
  getReplay: (api) => api.getReplay('r1'),
  diffVersions: (api) => api.diffVersions('12'),
  health: (api) => api.health(),
  getFleet: (api) => api.getFleet(),
  listAgents: (api) => api.listAgents({}),
  listDecisions: (api) => api.listDecisions({}),
  createToken: (api) => api.createToken({ name: 'ci', scopes: ['viewer'] }),
  listTokens: (api) => api.listTokens(),
  revokeToken: (api) => api.revokeToken('t1'),
  listSources: (api) => api.listSources(),
  syncSource: (api) => api.syncSource('embedded'),
};

/** A client whose control plane answers `200 {}` to everything: valid JSON, wrong shape. */
const client = new ControlPlaneClient(
  { url: 'http://cp.test', token: 'sg_test_0123456789abcdef' },
  { fetch: async () => new Response('{}', { status: 200 }) },
);

function cliSources(dir = join(repoRoot, 'apps/cli/src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return cliSources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The names `import { ... } from '@stepgate/protocol'` brings into a file. */
function protocolImports(source: string): Set<string> {
  const names = new Set<string>();
  for (const [, list] of source.matchAll(
    /import\s*(?:type\s*)?\{([^}]*)\}\s*from '@stepgate\/protocol'/g,
  )) {
    for (const item of list!.split(',')) {
      const name = item.replace(/^\s*type\s+/, '').trim();
      if (name !== '') names.add(name);
    }
  }
  return names;
}

/** Wire types the protocol exports, plus the names of the CLI's former hand-written copies. */
function contractTypeNames(): Set<string> {
  const index = readFileSync(join(repoRoot, 'packages/protocol/src/index.ts'), 'utf8');
  const names = new Set([
    ...'Version VersionList ActivateResult RollbackResult ShadowResult ShadowOffResult AuditEvent AuditList'.split(
      ' ',
    ),
    ...'CheckDecision CheckResult CheckInput Satisfy Requirement GrantList ApprovalList'.split(' '),
    ...'TotpEnrollment TotpConfirmation EnrolmentCodeList ElevateInput ApprovalInput TotpEnrollInput'.split(
      ' ',
    ),
  ]);
  for (const [, list] of index.matchAll(/export type \{([^}]*)\}/g)) {
    for (const name of list!.split(',')) if (name.trim() !== '') names.add(name.trim());
  }
  return names;
}

/** `z.input<typeof schema>`, `z.infer<...>`, `NonNullable<CheckResponse[...]>`, `GrantView['kind']`. */
const DERIVED = /^(?:z\.(?:input|infer|output)<typeof \w+>|NonNullable<[\w.<>]+\[|\w+\[)/;

describe('the CLI and the admin API share one contract', () => {
  it('the table above lists every method of the client', () => {
    const methods = Object.getOwnPropertyNames(ControlPlaneClient.prototype).filter(
      (name) => !['constructor', 'call', 'describeFailure'].includes(name),
    );
    expect(Object.keys(CALLS).sort()).toEqual(methods.sort());
  });

  it.each(Object.entries(CALLS))(
    '%s refuses an answer the protocol schema does not accept',
    async (_name, call) => {
      const error = await call(client).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(ControlPlaneError);
      expect(error).toMatchObject({ code: 'response/invalid' });
      expect((error as Error).message).toContain(
        'is the control plane the same version as the CLI?',
      );
    },
  );

  it('every call parses with a schema imported from @stepgate/protocol', () => {
    const source = readFileSync(join(repoRoot, CLIENT), 'utf8');
    const imported = protocolImports(source);
    const schemas = [...source.matchAll(/this\.call\(\s*'[A-Z]+',\s*[^,]+,\s*(\w+)/g)].map(
      ([, schema]) => schema!,
    );
    expect(schemas.length).toBeGreaterThanOrEqual(Object.keys(CALLS).length);
    // A 204 has no body to parse: the one local schema is `z.undefined()`.
    const foreign = schemas.filter((name) => name !== 'noContentSchema' && !imported.has(name));
    expect(foreign).toEqual([]);
    expect(source).toMatch(/const noContentSchema = z\.undefined\(\);/);
  });

  it('no CLI source declares an API shape of its own', () => {
    const names = contractTypeNames();
    const declared: string[] = [];
    for (const path of cliSources()) {
      const source = readFileSync(path, 'utf8');
      const declarations = source.matchAll(
        /^(?:export\s+)?(?:interface\s+(\w+)|type\s+(\w+)(?:<[^>]*>)?\s*=\s*([^;]*))/gm,
      );
      for (const [, interfaceName, typeName, definition] of declarations) {
        const name = (interfaceName ?? typeName)!;
        // An alias taken from a protocol schema or type is the contract itself, not a copy.
        const derived = definition !== undefined && DERIVED.test(definition.trim());
        if (names.has(name) && !derived) declared.push(`${relative(repoRoot, path)}: ${name}`);
      }
    }
    expect(declared).toEqual([]);
    const typeFiles = cliSources().filter((path) => path.endsWith('-types.ts'));
    expect(typeFiles.map((path) => relative(repoRoot, path))).toEqual([]);
  });
});
