import { compile } from '@stepgate/policy';
import { describe, expect, it } from 'vitest';
import { NO_ACTIVE_PROTECTION, protectionFingerprint } from '../step-up/protection-policies.js';
import { judgeVersion } from '../sync/version-verdict.js';
import { parseRefUpdates } from '../git/post-receive-report.js';
import { triageRefUpdate, verdictLines } from './push-report.js';

describe('parseRefUpdates', () => {
  it('reads one update per line and ignores blank or malformed lines', () => {
    const old = '0'.repeat(40);
    const next = 'a'.repeat(40);
    expect(
      parseRefUpdates(`${old} ${next} refs/heads/main\n\nbogus\n${next} ${old} refs/tags/v1\n`),
    ).toEqual([
      { oldSha: old, newSha: next, ref: 'refs/heads/main' },
      { oldSha: next, newSha: old, ref: 'refs/tags/v1' },
    ]);
  });
});

describe('triageRefUpdate', () => {
  const sha = 'a'.repeat(40);
  const update = (ref: string, newSha = sha) => ({ oldSha: '0'.repeat(40), newSha, ref });

  it('judges a push to the tracked branch, whatever it is called', () => {
    expect(triageRefUpdate(update('refs/heads/trunk'), 'trunk')).toBe(sha);
    expect(triageRefUpdate(update('refs/heads/main'), 'trunk')).toEqual([
      'stepgate: refs/heads/main is not the tracked branch (trunk); not checked',
    ]);
  });

  it('says a deleted branch leaves the active version, and ignores tags', () => {
    expect(triageRefUpdate(update('refs/heads/main', '0'.repeat(40)), 'main')).toEqual([
      'stepgate: refs/heads/main deleted; the active policy version stays active',
    ]);
    expect(triageRefUpdate(update('refs/tags/v1'), 'main')).toEqual([]);
  });
});

describe('verdictLines and the self-protection policies', () => {
  const settings = {
    path: 'stepgate.yaml',
    content: [
      'apiVersion: stepgate/v1',
      'kind: Settings',
      'defaultEffect: deny',
      'levels:',
      '  - name: mfa',
      '    amr: ["otp"]',
      '',
    ].join('\n'),
  };
  const protection = {
    path: 'protect.yaml',
    content: [
      'apiVersion: stepgate/v1',
      'kind: Policy',
      'name: protect',
      'target:',
      '  actions: ["stepgate:*"]',
      'rules:',
      '  - name: mfa',
      '    effect: step_up',
      '    require: { level: mfa }',
      '',
    ].join('\n'),
  };
  const compiled = (files: { path: string; content: string }[]) => {
    const result = compile(files);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result.policySet;
  };
  const BUDGET = 1024 * 1024;
  /** The verdict the sync's worker computes, computed in-process. */
  const checkPolicyFiles = (short: string, files: (typeof settings)[], known?: string) =>
    verdictLines(short, judgeVersion(files, BUDGET), known);
  const active = protectionFingerprint(compiled([settings, protection]));

  it('says a commit that drops the protection waits for a stepped-up activation', () => {
    const lines = checkPolicyFiles('abc1234', [settings], active);
    expect(lines[0]).toMatch(/^stepgate: abc1234 compiles, 0 tests passed — but it changes/);
    expect(lines.join('\n')).toContain("stepgate activate abc1234 --reason '<why>'");
    expect(lines.join('\n')).toContain('NOT activated automatically');
  });

  it('says a commit that keeps it will be activated, and so without a known active version', () => {
    for (const known of [active, NO_ACTIVE_PROTECTION, undefined]) {
      expect(checkPolicyFiles('abc1234', [settings, protection], known)).toEqual([
        'stepgate: abc1234 compiles, 0 tests passed — it will be activated if auto-activate is on',
      ]);
    }
    expect(checkPolicyFiles('abc1234', [settings], NO_ACTIVE_PROTECTION)).toHaveLength(1);
  });
});

describe('verdictLines for commits the sync will mark failed', () => {
  const settings = {
    path: 'stepgate.yaml',
    content: 'apiVersion: stepgate/v1\nkind: Settings\ndefaultEffect: deny\n',
  };

  it('rejects a commit over the bundle size budget, as the sync does, instead of promising it', () => {
    const verdict = judgeVersion([settings], 10);
    expect(verdict.status).toBe('failed');
    const lines = verdictLines('abc1234', verdict);
    expect(lines[0]).toBe('stepgate: abc1234 REJECTED as a version: 1 error');
    expect(lines[1]).toMatch(/the budget is 10 \(STEPGATE_MAX_BUNDLE_BYTES\)/);
  });

  it('rejects a commit whose tests ran past the time limit with the reason', () => {
    const lines = verdictLines('abc1234', {
      status: 'failed',
      errors: [
        { code: 'test/limit', file: '(tests)', message: 'policy tests did not finish within 2 s' },
      ],
      testReport: null,
      policySet: null,
    });
    expect(lines).toEqual([
      'stepgate: abc1234 REJECTED as a version: 1 error',
      expect.stringContaining('policy tests did not finish within 2 s'),
    ]);
  });
});
