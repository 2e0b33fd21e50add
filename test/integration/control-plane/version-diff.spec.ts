/**
 * File diffs between versions (GET /v1/versions/{ref}/diff) on the real control plane, with
 * the versions made by real pushes to its embedded repository: a modified, an added and a
 * removed file, the default `against` (the previous version), the first version against an
 * empty tree, and clear 404/400 answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionsDiffCommand } from '../../../apps/cli/src/commands/versions-diff-command.js';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  api,
  commit,
  createToken,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  tempDirs,
  validPolicyFiles,
  waitForVersion,
  type Version,
} from './support.js';

const temp = tempDirs();
let cp: ControlPlaneProcess;
let viewer: string;
let work: string;
/** v1 the seed; v2 adds it/a.* and notes/README.md; v3 edits the README, drops it/a.*, adds it/b.*. */
const v: Record<number, Version> = {};

interface DiffFile {
  path: string;
  status: string;
  patch: string;
  binary?: true;
  truncated?: true;
}

async function push(files: Record<string, string | null>, message: string): Promise<Version> {
  const sha = await commit(work, files, message);
  const pushed = await git(['push', 'origin', 'main'], work);
  if (pushed.status !== 0) throw new Error(pushed.stderr);
  return waitForVersion(cp, sha);
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  viewer = (await createToken(cp, 'diff-viewer', ['viewer'])).token;
  work = temp.make('version-diff-clone');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
  v[1] = await waitForVersion(cp, await gitOk(['rev-parse', 'HEAD'], work));
  v[2] = await push(
    { ...validPolicyFiles('a'), 'notes/README.md': 'one\ntwo\nthree\n' },
    'Add policy a and notes',
  );
  v[3] = await push(
    {
      'it/a.yaml': null,
      'it/a.test.yaml': null,
      ...validPolicyFiles('b'),
      'notes/README.md': 'one\nTWO\nthree\n',
    },
    'Replace policy a with b',
  );
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

async function diff(path: string) {
  return api(cp.url, viewer, 'GET', path);
}

describe('GET /v1/versions/{ref}/diff', () => {
  it('diffs a version against the previous one by default: modified, added, removed', async () => {
    const response = await diff(`/v1/versions/${v[3]!.number}/diff`);
    expect(response.status).toBe(200);
    expect(response.body.from).toEqual({ number: v[2]!.number, sha: v[2]!.sha });
    expect(response.body.to).toEqual({ number: v[3]!.number, sha: v[3]!.sha });
    const files = response.body.files as DiffFile[];
    expect(files.map((f) => [f.path, f.status])).toEqual([
      ['it/a.test.yaml', 'removed'],
      ['it/a.yaml', 'removed'],
      ['it/b.test.yaml', 'added'],
      ['it/b.yaml', 'added'],
      ['notes/README.md', 'modified'],
    ]);
    const readme = files.find((f) => f.path === 'notes/README.md')!;
    expect(readme.patch).toBe(
      '--- a/notes/README.md\n+++ b/notes/README.md\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n',
    );
    const added = files.find((f) => f.path === 'it/b.yaml')!;
    const lines = validPolicyFiles('b')['it/b.yaml']!.trimEnd().split('\n');
    expect(added.patch).toBe(
      `--- /dev/null\n+++ b/it/b.yaml\n@@ -0,0 +1,${lines.length} @@\n` +
        lines.map((line) => `+${line}\n`).join(''),
    );
    const removed = files.find((f) => f.path === 'it/a.yaml')!;
    expect(removed.patch.split('\n').slice(0, 3)).toEqual([
      '--- a/it/a.yaml',
      '+++ /dev/null',
      `@@ -1,${lines.length} +0,0 @@`,
    ]);
    expect(removed.patch).toContain('\n-name: it-a\n');
    expect(files.some((f) => f.binary || f.truncated)).toBe(false);
  });

  it('diffs any two versions, named by number, id or sha prefix, in either direction', async () => {
    const forward = await diff(`/v1/versions/${v[3]!.sha.slice(0, 10)}/diff?against=${v[1]!.id}`);
    expect(forward.status).toBe(200);
    expect(forward.body.from).toEqual({ number: v[1]!.number, sha: v[1]!.sha });
    expect((forward.body.files as DiffFile[]).map((f) => [f.path, f.status])).toEqual([
      ['it/b.test.yaml', 'added'],
      ['it/b.yaml', 'added'],
      ['notes/README.md', 'added'],
    ]);

    const back = await diff(`/v1/versions/${v[2]!.number}/diff?against=${v[3]!.number}`);
    expect(back.status).toBe(200);
    const readme = (back.body.files as DiffFile[]).find((f) => f.path === 'notes/README.md')!;
    expect(readme.status).toBe('modified');
    expect(readme.patch).toContain('\n-TWO\n+two\n');
  });

  it('diffs the first version against an empty tree: every file of the folder added', async () => {
    const response = await diff(`/v1/versions/${v[1]!.number}/diff`);
    expect(response.status).toBe(200);
    expect(response.body.from).toBeNull();
    const files = response.body.files as DiffFile[];
    const tracked = (await gitOk(['ls-tree', '-r', '--name-only', v[1]!.sha], work)).split('\n');
    expect(files.map((f) => f.path)).toEqual([...tracked].sort());
    expect(new Set(files.map((f) => f.status))).toEqual(new Set(['added']));
    const settings = files.find((f) => f.path === 'stepgate.yaml')!;
    expect(settings.patch.startsWith('--- /dev/null\n+++ b/stepgate.yaml\n@@ -0,0 +1,')).toBe(true);
  });

  it('gives no files for a version against itself', async () => {
    const response = await diff(`/v1/versions/${v[2]!.number}/diff?against=${v[2]!.number}`);
    expect(response.status).toBe(200);
    expect(response.body.files).toEqual([]);
  });

  it('answers 404 naming an unknown ref, 400 for a malformed one or an unknown parameter', async () => {
    const unknown = await diff('/v1/versions/99999/diff');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'version/not_found' });
    expect(unknown.body.message).toContain('99999');

    const unknownAgainst = await diff(`/v1/versions/${v[2]!.number}/diff?against=abcdef0123`);
    expect(unknownAgainst.status).toBe(404);
    expect(unknownAgainst.body.message).toContain('abcdef0123');

    const malformed = await diff('/v1/versions/not-a-version/diff');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('request/invalid');

    const badAgainst = await diff(`/v1/versions/${v[2]!.number}/diff?against=..%2Fetc`);
    expect(badAgainst.status).toBe(400);

    const extra = await diff(`/v1/versions/${v[2]!.number}/diff?agianst=1`);
    expect(extra.status).toBe(400);
    expect(extra.body.message).toContain('agianst');
  });

  it('prints the patches with stepgate versions diff <a> [<b>]', async () => {
    const run = async (a: string, b?: string) => {
      let stdout = '';
      let stderr = '';
      const code = await versionsDiffCommand(
        a,
        b,
        {},
        {
          stdout: { write: (text: string) => (stdout += text) },
          stderr: { write: (text: string) => (stderr += text) },
          env: { STEPGATE_URL: cp.url, STEPGATE_TOKEN: viewer },
        },
      );
      return { code, stdout, stderr };
    };
    const latest = await run(String(v[3]!.number));
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain(
      `version ${v[2]!.number} (${v[2]!.sha.slice(0, 7)}) -> version ${v[3]!.number} (${v[3]!.sha.slice(0, 7)}): 5 files changed`,
    );
    expect(latest.stdout).toContain(
      '--- a/notes/README.md\n+++ b/notes/README.md\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n',
    );

    const between = await run(String(v[3]!.number), String(v[2]!.number));
    expect(between.code).toBe(0);
    expect(between.stdout).toContain('\n-TWO\n+two\n');

    const unknown = await run('99999');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('99999');
  });

  it('needs a token', async () => {
    const response = await api(cp.url, undefined, 'GET', `/v1/versions/${v[2]!.number}/diff`);
    expect(response.status).toBe(401);
  });
});
