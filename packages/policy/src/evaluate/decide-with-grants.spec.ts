import { describe, expect, it, vi } from 'vitest';
import {
  GRANT_TABLE,
  TABLE_FILES,
  TABLE_NOW,
  tableRequest,
  type TableGrant,
} from '../__support__/grant-decision-table.js';
import { compileOk } from '../__support__/policy-fixture.js';
import { decideWithGrants, type GrantEvidence } from './decide-with-grants.js';
import { PolicyEngine } from './engine.js';

const engine = new PolicyEngine(compileOk(TABLE_FILES));

/** What a grant holder hands out for a signed grant (the agent's GrantStore does exactly this). */
function grantEvidence(grant: TableGrant): GrantEvidence {
  return {
    id: grant.id,
    kind: grant.kind,
    evidence: {
      amr: grant.amr,
      ...(grant.level !== undefined ? { level: grant.level } : {}),
      authTime: grant.authTime,
      approvals: grant.approvals,
      grants: [grant.id],
    },
  };
}

describe('decideWithGrants', () => {
  describe.each(GRANT_TABLE)('$name', (row) => {
    const request = tableRequest(row.action);
    const first = () => engine.decide(request, row.evidence, { now: TABLE_NOW });
    const grants = row.grants.map(grantEvidence);

    it.each([
      ['as listed', grants],
      ['reversed', [...grants].reverse()],
    ])(
      'answers the expected effect, requirement and unmet parts with the grants %s',
      (_order, given) => {
        const { decision, grants: used } = decideWithGrants(engine, request, {
          first: first(),
          ...(row.evidence !== undefined ? { evidence: row.evidence } : {}),
          grants: given,
          now: TABLE_NOW,
        });
        expect({
          effect: decision.effect,
          require: decision.require,
          unmet: decision.unmet,
          grants: used,
        }).toEqual({
          effect: row.expect.effect,
          require: row.expect.require,
          unmet: row.expect.unmet,
          grants: row.expect.grants,
        });
      },
    );
  });

  it('evaluates nothing more when the first answer is not a step-up', () => {
    const request = tableRequest('no-passwords');
    const first = engine.decide(request, { acr: 'urn:stepgate:mfa' }, { now: TABLE_NOW });
    expect(first.effect).toBe('allow');
    const decide = vi.spyOn(engine, 'decide');
    const grant = grantEvidence(GRANT_TABLE[1]!.grants[0]!);
    const result = decideWithGrants(engine, request, { first, grants: [grant], now: TABLE_NOW });
    expect(result.decision).toBe(first);
    expect(decide).not.toHaveBeenCalled();
    decide.mockRestore();
  });
});
