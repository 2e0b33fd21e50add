import { compile } from '@stepgate/policy';
import { describe, expect, it } from 'vitest';
import { NO_ACTIVE_PROTECTION, protectionFingerprint } from '../step-up/protection-policies.js';
import { checkPolicyFiles, parseRefUpdates } from './post-receive-report.js';

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

describe('checkPolicyFiles and the self-protection policies', () => {
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
