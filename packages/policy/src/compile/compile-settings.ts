import type { CompileError } from '../errors.js';
import type { Settings } from '../model.js';
import { settingsDocumentSchema } from '../source/schemas.js';
import type { YamlDocument } from '../source/yaml-file.js';
import { validate } from './validate.js';

export const SETTINGS_FILE = 'stepgate.yaml';

/** Used when a repository has no stepgate.yaml: closed by default, no levels. */
export const DEFAULT_SETTINGS: Settings = {
  defaultEffect: 'deny',
  onError: 'deny',
  levels: [],
  issuers: [],
  mask: [],
};

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : typeof value === 'string' ? [value] : value;

export function compileSettings(source: YamlDocument, errors: CompileError[]): Settings {
  const doc = validate(source, settingsDocumentSchema, errors);
  if (!doc) return DEFAULT_SETTINGS;
  const seen = new Map<string, string>();
  const levels = (doc.levels ?? []).map((level, index) => {
    if (seen.has(level.name)) {
      errors.push(
        source.error('schema/invalid', `level "${level.name}" is declared twice`, [
          'levels',
          index,
          'name',
        ]),
      );
    }
    seen.set(level.name, level.name);
    const acr = asList(level.acr);
    const amr = asList(level.amr);
    for (const value of acr) {
      const other = (doc.levels ?? []).find((l, i) => i < index && asList(l.acr).includes(value));
      if (other)
        errors.push(
          source.error(
            'schema/invalid',
            `acr "${value}" maps to both "${other.name}" and "${level.name}"`,
            ['levels', index, 'acr'],
          ),
        );
    }
    return { name: level.name, acr, amr };
  });
  return {
    defaultEffect: doc.defaultEffect ?? 'deny',
    onError: doc.onError ?? 'deny',
    levels,
    issuers: [],
    mask: [...new Set(doc.mask ?? [])],
  };
}
