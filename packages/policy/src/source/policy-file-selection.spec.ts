import { describe, expect, it } from 'vitest';
import { isPolicyFilePath, isPolicyFolder } from './policy-file-selection.js';

describe('policy file selection', () => {
  // schemas/*.json: the JSON Schemas of live data documents, which the compiler reads.
  it.each(['a.yaml', 'a.yml', 'a.json', 'api/a.yaml', 'data/deep/x.json', 'schemas/ips.json'])(
    'reads %j',
    (path) => expect(isPolicyFilePath(path)).toBe(true),
  );

  it.each([
    'a.md',
    'a.yaml.bak',
    '.a.yaml',
    'yaml',
    '.github/workflows/ci.yaml',
    'node_modules/x/package.json',
    'api/.hidden/a.yaml',
  ])('skips %j', (path) => expect(isPolicyFilePath(path)).toBe(false));

  it('descends into ordinary folders only', () => {
    expect(['.git', '.github', 'node_modules'].some(isPolicyFolder)).toBe(false);
    expect(isPolicyFolder('data')).toBe(true);
  });
});
