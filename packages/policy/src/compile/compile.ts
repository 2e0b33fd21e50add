import type { CompileError } from '../errors.js';
import { createCheckEnvironment } from '../cel/environment.js';
import {
  POLICY_SET_FORMAT,
  type CompiledPolicy,
  type CompiledPolicySet,
  type Settings,
} from '../model.js';
import { policyDocumentSchema } from '../source/schemas.js';
import { parseYamlFile, type YamlDocument } from '../source/yaml-file.js';
import { compileTestSuite, isTestFile, type TestSuite } from '../testing/test-suite.js';
import { compilePolicy } from './compile-policy.js';
import {
  compileSettings,
  DEFAULT_SETTINGS,
  SETTINGS_FILE,
  type SettingsContext,
} from './compile-settings.js';
import {
  dataKeyPath,
  isDataFile,
  liveDataTypes,
  loadDataDocuments,
  signalTypes,
} from './data-documents.js';
import { collectEntities, ENTITIES_KIND } from './entities.js';
import type { SourceFile } from './source-file.js';
import { validate } from './validate.js';

export type CompileResult =
  | { ok: true; policySet: CompiledPolicySet; testSuites: TestSuite[]; errors: [] }
  | { ok: false; errors: CompileError[]; policySet?: undefined; testSuites?: undefined };

export interface CompileOptions {
  /** The `now` of test cases that fix none; defaults to the current time. */
  clock?: () => Date;
}

const YAML_FILE = /\.ya?ml$/;

/**
 * Compiles a policy repository (paths relative to its root) into a CompiledPolicySet and its
 * test suites. Reports every error of every file at once; never throws on bad input.
 */
export function compile(files: readonly SourceFile[], options: CompileOptions = {}): CompileResult {
  const errors: CompileError[] = [];
  const sorted = [...files]
    .map((f) => ({ ...f, path: f.path.replace(/\\/g, '/').replace(/^\.\//, '') }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));

  const settingsFiles = sorted.filter((f) => f.path === SETTINGS_FILE || f.path === 'stepgate.yml');
  const dataFiles = sorted.filter((f) => isDataFile(f.path));
  const testFiles = sorted.filter((f) => isTestFile(f.path) && !isDataFile(f.path));
  const policyFiles = sorted.filter(
    (f) =>
      YAML_FILE.test(f.path) &&
      !isDataFile(f.path) &&
      !isTestFile(f.path) &&
      !settingsFiles.includes(f),
  );

  const { data, schema, errors: dataErrors } = loadDataDocuments(dataFiles);
  const dataNames = new Map<string, string>();
  for (const file of dataFiles) {
    const name = dataKeyPath(file.path)[0] as string;
    if (!dataNames.has(name)) dataNames.set(name, file.path);
  }
  const byPath = new Map(sorted.map((file) => [file.path, file.content]));
  const settings = loadSettings(settingsFiles, errors, {
    readFile: (path) => byPath.get(path),
    dataNames,
  });
  errors.push(...dataErrors);
  // With no data at all, `data` is still a closed schema so any reference is a compile error;
  // live data documents are names in it like Git data documents, signals are typed by aggregate.
  const env = createCheckEnvironment(
    { ...schema, ...liveDataTypes(settings) },
    signalTypes(settings),
  );

  const policies: CompiledPolicy[] = [];
  const owners = new Map<string, string>();
  const entitySources: YamlDocument[] = [];
  for (const file of policyFiles) {
    for (const source of parseDocuments(file, errors)) {
      const kind = kindOf(source.value);
      if (kind === ENTITIES_KIND) {
        entitySources.push(source);
        continue;
      }
      if (kind === 'TestSuite' || kind === 'Settings') {
        const where =
          kind === 'TestSuite'
            ? 'a file named *.test.yaml'
            : `${SETTINGS_FILE} at the repository root`;
        errors.push(source.error('file/kind', `kind ${kind} belongs in ${where}`, ['kind']));
        continue;
      }
      const doc = validate(source, policyDocumentSchema, errors);
      if (!doc) continue;
      const previous = owners.get(doc.name);
      if (previous !== undefined) {
        errors.push(
          source.error(
            'policy/duplicate',
            `policy name "${doc.name}" is already used in ${previous}; policy names must be unique`,
            ['name'],
            { policy: doc.name },
          ),
        );
        continue;
      }
      owners.set(doc.name, file.path);
      policies.push(compilePolicy(source, doc, settings, env, errors, data));
    }
  }

  policies.sort((a, b) => (a.name < b.name ? -1 : 1));
  const policySet: CompiledPolicySet = { format: POLICY_SET_FORMAT, settings, policies, data };
  const entities = collectEntities(entitySources, errors);
  if (entities !== undefined) policySet.entities = entities;

  const testSuites: TestSuite[] = [];
  const clock = options.clock ?? (() => new Date());
  for (const file of testFiles) {
    for (const source of parseDocuments(file, errors)) {
      const suite = compileTestSuite(source, policySet, errors, clock);
      if (suite) testSuites.push(suite);
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, policySet, testSuites, errors: [] };
}

function loadSettings(
  files: SourceFile[],
  errors: CompileError[],
  context: SettingsContext,
): Settings {
  if (files.length === 0) return DEFAULT_SETTINGS;
  if (files.length > 1) {
    errors.push({
      code: 'settings/duplicate',
      file: files[1]?.path ?? SETTINGS_FILE,
      message: 'both stepgate.yaml and stepgate.yml exist; keep one',
    });
  }
  const documents = parseDocuments(files[0] as SourceFile, errors);
  if (documents.length !== 1) {
    if (documents.length > 1)
      errors.push({
        code: 'settings/duplicate',
        file: (files[0] as SourceFile).path,
        message: `${(files[0] as SourceFile).path} must hold exactly one document`,
      });
    return DEFAULT_SETTINGS;
  }
  return compileSettings(documents[0] as YamlDocument, errors, context);
}

function parseDocuments(file: SourceFile, errors: CompileError[]): YamlDocument[] {
  const parsed = parseYamlFile(file.path, file.content);
  errors.push(...parsed.errors);
  return parsed.documents;
}

function kindOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null
    ? (value as { kind?: unknown }).kind
    : undefined;
}
