import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The control plane's sources, whose data access this checks (docs/architecture.md): queries
 * live in repositories, and the live state has one owner (`live-state/live-state.repository.ts`).
 */
const SRC = fileURLToPath(new URL('../../apps/control-plane/src', import.meta.url));

/** Every hand-written source file of the control plane, relative to src/ (no specs). */
function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')
      ? [path.relative(SRC, full).split(path.sep).join('/')]
      : [];
  });
}

/** Files whose code (comments stripped) matches `pattern`, relative to src/. */
function matching(pattern: RegExp): string[] {
  return sources()
    .filter((file) => {
      const code = readFileSync(path.join(SRC, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      return pattern.test(code);
    })
    .sort();
}

describe('data access', () => {
  it('only repositories and database/ touch Prisma (no service or controller injects it)', () => {
    const offenders = matching(/\bPrismaService\b|\$(transaction|queryRaw|executeRaw)\b/).filter(
      (file) => !file.endsWith('.repository.ts') && !file.startsWith('database/'),
    );
    expect(offenders).toEqual([]);
  });

  it('the live state (ActiveState, Activation) is read and written only by its repository', () => {
    const offenders = matching(/\b(prisma|tx|client)\.(activeState|activation)\b/).filter(
      (file) => file !== 'live-state/live-state.repository.ts',
    );
    expect(offenders).toEqual([]);
  });

  it('the live-data revision, documents and history are read and written only by their repository', () => {
    const offenders = matching(
      /\b(prisma|tx|client)\.(liveDataState|liveDocument|liveDataChange)\b/,
    ).filter((file) => file !== 'live-data/live-data.repository.ts');
    expect(offenders).toEqual([]);
    // The scan finds the owner itself, so a renamed table cannot pass it by matching nothing.
    expect(matching(/\btx\.liveDataState\b/)).toEqual(['live-data/live-data.repository.ts']);
  });

  it('the data sources state is read and written only by its repository', () => {
    const owner = 'data-sources/data-source.repository.ts';
    expect(matching(/\b(prisma|tx|client)\.dataSourceState\b/)).toEqual([owner]);
  });
});
