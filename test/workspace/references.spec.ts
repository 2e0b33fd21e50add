/**
 * The repository documents itself: nothing in it may cite a document that is not in it (a design
 * file on someone's machine, a sibling folder), and every relative Markdown link must resolve,
 * down to the heading it points at.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const TEXT = /\.(md|ts|js|mjs|cjs|json|ya?ml|sh|prisma|toml)$/;
/** Files whose text is not ours to word (the lockfile) or is this test's own vocabulary. */
const SKIP = new Set(['package-lock.json', 'test/workspace/references.spec.ts']);

/** Tracked and new (not ignored) files, as repository-relative paths. */
function repoFiles(): string[] {
  const out = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
    {
      cwd: repoRoot,
      encoding: 'utf8',
    },
  );
  return out.split('\0').filter((file) => file !== '' && existsSync(path.join(repoRoot, file)));
}

const files = repoFiles();
const textFiles = files.filter((file) => TEXT.test(file) && !SKIP.has(file));
const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of markdown.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (match[1] as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    anchors.add(slug);
  }
  return anchors;
}

/** Each `[text](target)` of a Markdown file that points inside the repository. */
function relativeLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('references inside the repository', () => {
  it('sees the repository (guards against a vacuous pass)', () => {
    expect(textFiles).toContain('README.md');
    expect(textFiles).toContain('docs/architecture.md');
  });

  it('cites no document outside the repository', () => {
    const outside = /\.\.\/shared\b|\/work\/shared\b|\b(DESIGN|STYLE|PLATFORM)\.md\b/;
    const offenders = textFiles.flatMap((file) =>
      read(file)
        .split('\n')
        .flatMap((line, i) => (outside.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offenders).toEqual([]);
  });

  it('names only Markdown files that exist in the repository (in docs and comments)', () => {
    const basenames = new Set(files.map((file) => path.basename(file)));
    const paths = new Set(files);
    // Test fixtures name made-up files in strings; prose (Markdown, comments) must not.
    const prose = (file: string): string =>
      file.endsWith('.md')
        ? read(file)
        : read(file)
            .split('\n')
            .filter((line) => /^\s*(\/\/|\/\*|\*|#)/.test(line))
            .join('\n');
    const offenders = textFiles.flatMap((file) =>
      [...prose(file).matchAll(/[\w./-]*\b[\w-]+\.md\b/g)]
        .map((m) => m[0].replace(/^\.\//, ''))
        .filter((name) => !(paths.has(name) || basenames.has(path.basename(name))))
        .map((name) => `${file}: ${name}`),
    );
    expect([...new Set(offenders)]).toEqual([]);
  });

  it('resolves every relative Markdown link, heading anchors included', () => {
    const broken: string[] = [];
    for (const file of textFiles.filter((f) => f.endsWith('.md'))) {
      for (const link of relativeLinks(read(file))) {
        const [target = '', anchor] = link.split('#');
        const resolved = target === '' ? file : path.join(path.dirname(file), target);
        const absolute = path.join(repoRoot, resolved);
        if (!existsSync(absolute)) {
          broken.push(`${file}: ${link} (no such file)`);
          continue;
        }
        if (anchor && statSync(absolute).isFile() && resolved.endsWith('.md')) {
          if (!anchorsOf(read(resolved)).has(anchor))
            broken.push(`${file}: ${link} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
