/**
 * The control plane's feature folders (apps/control-plane/src/<folder>/) form no import cycle,
 * infrastructure folders import no feature, and only infrastructure modules are @Global.
 * A cycle between folders is how a feature ends up needing `@Global` or `forwardRef` to boot;
 * this test names the cycle (file and import line of every edge) so it is fixed where it starts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const srcRoot = join(repoRoot, 'apps/control-plane/src');

/**
 * Shared by every feature, importing none: configuration, Prisma, logging, `common/` (metrics
 * registry, queue client, cross-feature decorators), the generated Prisma client, and
 * `live-state/`, the one owner of the live state row that several features call.
 */
const INFRASTRUCTURE = new Set([
  'common',
  'config',
  'database',
  'logging',
  'generated',
  'live-state',
]);

/**
 * The only modules allowed to be @Global: pure infrastructure every feature needs and that
 * depends on no feature (so making it global hides no cycle). A feature module is imported
 * where it is used instead.
 */
const GLOBAL_MODULES = new Set([
  'config/config.module.ts',
  'database/database.module.ts',
  'logging/logging.module.ts',
  'common/metrics.module.ts',
]);

interface Edge {
  from: string;
  to: string;
  /** Where the first import of `to` from `from` is, e.g. `auth/token.service.ts:7`. */
  at: string;
  line: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The top-level folder of a file under src/, or undefined for the composition root (main.ts…). */
function folderOf(path: string): string | undefined {
  const parts = relative(srcRoot, path).split(sep);
  return parts.length > 1 && parts[0] !== '..' ? parts[0] : undefined;
}

/** Every folder-to-folder import edge (the first import line per pair of folders). */
function folderEdges(root = srcRoot): Edge[] {
  const edges = new Map<string, Edge>();
  for (const file of sourceFiles(root)) {
    const from = folderOf(file);
    if (!from) continue;
    const text = readFileSync(file, 'utf8');
    // import/export-from, `import type`, require and dynamic import() all count.
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const imported of importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const to = folderOf(resolve(dirname(file), imported.fileName));
      if (!to || to === from || edges.has(`${from}->${to}`)) continue;
      const lineIndex = text.slice(0, imported.pos).split('\n').length - 1;
      edges.set(`${from}->${to}`, {
        from,
        to,
        at: `${relative(root, file).split(sep).join('/')}:${lineIndex + 1}`,
        line: text.split('\n')[lineIndex]!.trim(),
      });
    }
  }
  return [...edges.values()];
}

/** The groups of folders that import each other (strongly connected, more than one folder). */
function tangles(edges: Edge[]): string[][] {
  const out = new Map<string, string[]>();
  for (const edge of edges) out.set(edge.from, [...(out.get(edge.from) ?? []), edge.to]);
  // Tarjan's algorithm: folders on one cycle share a low-link.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const visit = (folder: string): void => {
    index.set(folder, index.size);
    low.set(folder, index.get(folder)!);
    stack.push(folder);
    for (const next of out.get(folder) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(folder, Math.min(low.get(folder)!, low.get(next)!));
      } else if (stack.includes(next)) {
        low.set(folder, Math.min(low.get(folder)!, index.get(next)!));
      }
    }
    if (low.get(folder) !== index.get(folder)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      group.push(member);
    } while (member !== folder);
    if (group.length > 1) groups.push(group.sort());
  };
  for (const folder of [...out.keys()].sort()) if (!index.has(folder)) visit(folder);
  return groups.sort((a, b) => b.length - a.length);
}

/** The shortest cycle from `start` back to itself, as edges (breadth-first). */
function cycleThrough(start: string, edges: Edge[]): Edge[] | undefined {
  const via = new Map<string, Edge>();
  const queue = [start];
  while (queue.length > 0) {
    const folder = queue.shift()!;
    for (const edge of edges.filter((e) => e.from === folder)) {
      if (edge.to === start) {
        const cycle = [edge];
        for (let at = folder; at !== start; at = via.get(at)!.from) cycle.unshift(via.get(at)!);
        return cycle;
      }
      if (!via.has(edge.to)) {
        via.set(edge.to, edge);
        queue.push(edge.to);
      }
    }
  }
  return undefined;
}

/** Each tangle with one concrete cycle in it, file and import line per edge. */
function describeCycles(edges: Edge[]): string[] {
  return tangles(edges).map((group) => {
    const inside = edges.filter((e) => group.includes(e.from) && group.includes(e.to));
    const cycle = cycleThrough(group[0]!, inside)!;
    const path = [...cycle.map((edge) => edge.from), group[0]].join(' -> ');
    return [
      `${group.length} folders import each other (${group.join(', ')}); one cycle: ${path}`,
      ...cycle.map((edge) => `  ${edge.from} -> ${edge.to}: ${edge.at}  ${edge.line}`),
    ].join('\n');
  });
}

describe('apps/control-plane/src folders', () => {
  const edges = folderEdges();

  it('sees the imports it checks (guards against a vacuous pass)', () => {
    expect(edges.length).toBeGreaterThan(20);
    expect(edges.some((edge) => edge.to === 'common')).toBe(true);
    expect(edges.some((edge) => edge.to === 'database')).toBe(true);
  });

  it('has no import cycle between folders', () => {
    // Break a cycle with an event, by moving the shared piece to the folder that owns the
    // concept, or by splitting a module; never with forwardRef (that only hides it).
    // Infrastructure is one layer: its folders may use each other (config parses with the
    // outbound guard in common, common's SecretBox provider reads config); the test below keeps
    // that layer from reaching back into a feature.
    const checked = edges.filter((e) => !(INFRASTRUCTURE.has(e.from) && INFRASTRUCTURE.has(e.to)));
    expect(describeCycles(checked).join('\n')).toBe('');
  });

  it('infrastructure folders import no feature folder', () => {
    const violations = edges
      .filter((edge) => INFRASTRUCTURE.has(edge.from) && !INFRASTRUCTURE.has(edge.to))
      .map((edge) => `${edge.from} -> ${edge.to}: ${edge.at}  ${edge.line}`);
    expect(violations).toEqual([]);
  });

  it('makes only infrastructure modules @Global', () => {
    const globals = sourceFiles(srcRoot)
      .filter((file) => file.endsWith('.module.ts'))
      .filter((file) => /@Global\(\)/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(srcRoot, file).split(sep).join('/'));
    const features = globals.filter((file) => !GLOBAL_MODULES.has(file));
    expect(features, 'import the module where it is used instead of making it @Global').toEqual([]);
  });

  it('finds a cycle when there is one, naming each edge', () => {
    const edge = (from: string, to: string): Edge => ({ from, to, at: `${from}/x.ts:1`, line: '' });
    const tangled = [
      edge('a', 'b'),
      edge('b', 'c'),
      edge('c', 'a'),
      edge('c', 'd'),
      edge('b', 'a'),
    ];
    expect(describeCycles(tangled)).toEqual([
      '3 folders import each other (a, b, c); one cycle: a -> b -> a\n' +
        '  a -> b: a/x.ts:1  \n  b -> a: b/x.ts:1  ',
    ]);
    expect(describeCycles([edge('a', 'b'), edge('b', 'c'), edge('a', 'c')])).toEqual([]);
  });
});
