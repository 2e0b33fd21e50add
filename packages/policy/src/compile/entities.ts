import type { CompileError } from '../errors.js';
import type { DeclaredEntity, Entities } from '../model.js';
import { entitiesDocumentSchema } from '../source/schemas.js';
import { formatPath, type Path, type YamlDocument } from '../source/yaml-file.js';
import { validate } from './validate.js';

/** `kind` of the documents that declare AuthZEN search candidates. */
export const ENTITIES_KIND = 'Entities';

/**
 * Properties of one declared entity, as the decision input bounds `attributes`
 * (`REQUEST_LIMITS.structuredSize`/`structuredDepth` of @stepgate/protocol): a candidate that
 * the request parser would refuse must be refused here, where the author can fix it.
 */
const MAX_PROPERTIES_BYTES = 64 * 1024;
const MAX_PROPERTIES_DEPTH = 32;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

type Section = 'subjects' | 'resources';

interface Declared {
  where: string;
}

/**
 * Merges every `kind: Entities` document of a repository into one declaration, in file order
 * (paths sorted) and then document order, so the compiled set and its hash are deterministic.
 * An entity (`type` and `id`), an action name or a document name declared twice, in one file or
 * across files, is an error at the second declaration naming the first. Returns undefined when
 * no document declares anything, so repositories without Entities compile as before.
 */
export function collectEntities(
  sources: readonly YamlDocument[],
  errors: CompileError[],
): Entities | undefined {
  const entities: Entities = { subjects: [], resources: [], actions: [] };
  const names = new Map<string, Declared>();
  const seen = {
    subjects: new Map<string, Declared>(),
    resources: new Map<string, Declared>(),
    actions: new Map<string, Declared>(),
  };
  let documents = 0;
  for (const source of sources) {
    const doc = validate(source, entitiesDocumentSchema, errors);
    if (!doc) continue;
    documents++;
    const here = (path: Path): string => {
      const position = source.positionOf(path);
      return position ? `${source.file}:${position.line}` : source.file;
    };
    const firstName = names.get(doc.name);
    if (firstName !== undefined) {
      errors.push(
        source.error(
          'entity/duplicate',
          `Entities name "${doc.name}" is already used at ${firstName.where}; names must be unique`,
          ['name'],
        ),
      );
      continue;
    }
    names.set(doc.name, { where: here(['name']) });

    for (const section of ['subjects', 'resources'] as const) {
      (doc[section] ?? []).forEach((entity, index) => {
        const path = [section, index];
        const key = `${entity.type}\u0000${entity.id}`;
        const first = seen[section].get(key);
        if (first !== undefined) {
          errors.push(
            source.error(
              'entity/duplicate',
              `${singular(section)} ${JSON.stringify(entity.type)} ${JSON.stringify(entity.id)} is already declared at ${first.where}; each ${singular(section)} (type and id) is declared once`,
              [...path, 'id'],
            ),
          );
          return;
        }
        const problem =
          entity.properties === undefined ? undefined : propertiesProblem(entity.properties);
        if (problem !== undefined) {
          errors.push(
            source.error(
              'entity/invalid',
              `${formatPath([...path, 'properties', ...problem.at])}: ${problem.message}`,
              [...path, 'properties', ...problem.at],
            ),
          );
          return;
        }
        seen[section].set(key, { where: here(path) });
        const declared: DeclaredEntity = { type: entity.type, id: entity.id };
        if (entity.properties !== undefined && Object.keys(entity.properties).length > 0)
          declared.properties = entity.properties;
        entities[section].push(declared);
      });
    }
    (doc.actions ?? []).forEach((action, index) => {
      const first = seen.actions.get(action);
      if (first !== undefined) {
        errors.push(
          source.error(
            'entity/duplicate',
            `action ${JSON.stringify(action)} is already declared at ${first.where}; each action is declared once`,
            ['actions', index],
          ),
        );
        return;
      }
      seen.actions.set(action, { where: here(['actions', index]) });
      entities.actions.push(action);
    });
  }
  const empty =
    entities.subjects.length === 0 &&
    entities.resources.length === 0 &&
    entities.actions.length === 0;
  return documents === 0 || empty ? undefined : entities;
}

function singular(section: Section): string {
  return section === 'subjects' ? 'subject' : 'resource';
}

/** What makes declared properties unusable as decision input, and where (inside them). */
function propertiesProblem(
  properties: Record<string, unknown>,
): { at: (string | number)[]; message: string } | undefined {
  const found = findProblem(properties, [], 1);
  if (found !== undefined) return found;
  const bytes = new TextEncoder().encode(JSON.stringify(properties)).length;
  if (bytes > MAX_PROPERTIES_BYTES)
    return {
      at: [],
      message: `are ${bytes} bytes as JSON; the limit is ${MAX_PROPERTIES_BYTES} (properties are request metadata, keep documents in data/)`,
    };
  return undefined;
}

function findProblem(
  value: unknown,
  at: (string | number)[],
  depth: number,
): { at: (string | number)[]; message: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_PROPERTIES_DEPTH)
    return { at, message: `nest deeper than ${MAX_PROPERTIES_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findProblem(item, [...at, index], depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (UNSAFE_KEYS.has(key))
      return {
        at: [...at, key],
        message: `the key "${key}" is not allowed: it reaches JavaScript's object internals; rename it`,
      };
    const found = findProblem((value as Record<string, unknown>)[key], [...at, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}
