import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Document,
  type Node,
  type Scalar,
} from 'yaml';
import type { CompileError, CompileErrorCode } from '../errors.js';

export type Path = readonly (string | number)[];

export interface Position {
  line: number;
  column: number;
}

/**
 * One parsed YAML document plus the ability to point back into the file: every error the
 * compiler reports about a value can name the line and column the value was written at.
 */
export class YamlDocument {
  constructor(
    readonly file: string,
    readonly value: unknown,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  /** Position of the value at `path`, or of the nearest ancestor that exists. */
  positionOf(path: Path, key?: string): Position | undefined {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.doc.getIn(path.slice(0, depth), true) as Node | undefined;
      if (depth === path.length && key !== undefined && isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
        const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined;
        if (keyRange) return this.at(keyRange[0]);
      }
      if (node && (isScalar(node) || isMap(node) || isSeq(node)) && node.range)
        return this.at(node.range[0]);
    }
    return undefined;
  }

  /**
   * Maps an offset inside a string scalar's value (a CEL expression) to the file position of
   * that character, for plain, quoted and literal-block scalars; otherwise the scalar start.
   */
  positionInScalar(path: Path, offset: number): Position | undefined {
    const node = this.doc.getIn(path, true) as Scalar | undefined;
    if (!isScalar(node) || !node.range || typeof node.value !== 'string')
      return this.positionOf(path);
    const value = node.value;
    const before = value.slice(0, Math.max(0, Math.min(offset, value.length)));
    const lineInValue = before.split('\n').length - 1;
    const columnInLine = before.length - (before.lastIndexOf('\n') + 1);
    const start = node.range[0];
    switch (node.type) {
      case 'PLAIN':
        if (lineInValue === 0) return this.at(start + columnInLine);
        break;
      case 'QUOTE_SINGLE':
      case 'QUOTE_DOUBLE': {
        // Exact only when the source text is the value verbatim (no escapes, one line).
        const raw = this.text.slice(start + 1, start + 1 + value.length);
        if (lineInValue === 0 && raw === value) return this.at(start + 1 + columnInLine);
        break;
      }
      case 'BLOCK_LITERAL': {
        const header = this.lines.linePos(start);
        const firstLine = header.line + 1;
        // The block's indentation is set by its first line; deeper indentation is content.
        let blockFirst: string | undefined;
        for (let line = firstLine; blockFirst === undefined || blockFirst.trim() === ''; line++) {
          blockFirst = this.sourceLine(line);
          if (blockFirst === undefined) break;
        }
        const indent =
          blockFirst === undefined ? 0 : blockFirst.length - blockFirst.trimStart().length;
        return { line: firstLine + lineInValue, column: indent + columnInLine + 1 };
      }
      default:
        break;
    }
    return this.at(start);
  }

  error(
    code: CompileErrorCode,
    message: string,
    path: Path,
    extra: Partial<CompileError> = {},
  ): CompileError {
    return { code, message, file: this.file, ...this.positionOf(path), ...extra };
  }

  private at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  private sourceLine(line: number): string | undefined {
    return this.text.split('\n')[line - 1];
  }
}

export interface ParsedYaml {
  documents: YamlDocument[];
  errors: CompileError[];
}

const MAX_ALIAS_COUNT = 100;
/**
 * The yaml library's alias expansion is quadratic in the number of alias nodes, so a long
 * chain of anchors could stall a compile for minutes. Policies need a handful at most.
 */
const MAX_ALIAS_NODES = 200;

/** Parses every document of a YAML file; syntax errors and alias cycles become CompileErrors. */
export function parseYamlFile(file: string, text: string): ParsedYaml {
  const lines = new LineCounter();
  const errors: CompileError[] = [];
  const documents: YamlDocument[] = [];
  let parsed: Document.Parsed[];
  try {
    parsed = parseAllDocuments(text, {
      lineCounter: lines,
      uniqueKeys: true,
      // Warnings stay in doc.warnings; the pure package never prints.
      logLevel: 'error',
      prettyErrors: false,
    }) as Document.Parsed[];
  } catch (error) {
    return {
      documents,
      errors: [
        { code: 'yaml/syntax', file, message: `cannot parse YAML: ${(error as Error).message}` },
      ],
    };
  }
  if (!Array.isArray(parsed)) parsed = [parsed];
  for (const doc of parsed) {
    if (doc.errors.length > 0) {
      for (const problem of doc.errors) {
        const { line, col } = lines.linePos(problem.pos[0]);
        errors.push({
          code: 'yaml/syntax',
          file,
          line,
          column: col,
          message: firstLine(problem.message),
        });
      }
      continue;
    }
    if (doc.contents === null) continue; // an empty document (e.g. a trailing `---`)
    let aliases = 0;
    visit(doc, { Alias: () => (++aliases > MAX_ALIAS_NODES ? visit.BREAK : undefined) });
    if (aliases > MAX_ALIAS_NODES) {
      errors.push({
        code: 'yaml/syntax',
        file,
        message: `more than ${MAX_ALIAS_NODES} YAML aliases (*name) in one document; write the values out instead`,
      });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      errors.push({ code: 'yaml/syntax', file, message: firstLine((error as Error).message) });
      continue;
    }
    const cycle = findCycle(value);
    if (cycle) {
      const where = doc.getIn(cycle, true) as Node | undefined;
      const pos = where?.range ? lines.linePos(where.range[0]) : undefined;
      errors.push({
        code: 'yaml/cycle',
        file,
        ...(pos ? { line: pos.line, column: pos.col } : {}),
        message: `the YAML alias at ${formatPath(cycle)} refers to one of its own ancestors (a cycle); use a copy instead of an alias`,
      });
      continue;
    }
    documents.push(new YamlDocument(file, value, doc, lines, text));
  }
  return { documents, errors };
}

/** The path of the first value that contains itself, or undefined when the tree is acyclic. */
function findCycle(root: unknown): (string | number)[] | undefined {
  const onPath = new Set<object>();
  // Shared (aliased) subtrees already proven acyclic are not walked again.
  const done = new Set<object>();
  const path: (string | number)[] = [];
  const visitValue = (value: unknown): boolean => {
    if (value === null || typeof value !== 'object' || done.has(value)) return false;
    if (onPath.has(value)) return true;
    onPath.add(value);
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value);
    for (const [key, child] of entries) {
      path.push(key);
      if (visitValue(child)) return true;
      path.pop();
    }
    onPath.delete(value);
    done.add(value);
    return false;
  };
  return visitValue(root) ? [...path] : undefined;
}

export function formatPath(path: Path): string {
  let out = '';
  for (const part of path)
    out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out || '(document)';
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
