/**
 * The published JSON Schemas of the policy-repository files (schemas/, written by
 * `npm run schemas` from the zod schemas): they are current, every kind the compiler loads has
 * one, every example file in policies/ names its schema and passes it, and they refuse what the
 * compiler refuses where JSON Schema can say so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { compile } from '../../packages/policy/src/compile/compile.js';
import { parseYamlFile } from '../../packages/policy/src/source/yaml-file.js';
import {
  DOCUMENT_KINDS,
  documentJsonSchema,
  kindOfSchema,
} from '../../packages/policy/src/source/document-kinds.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const schemasDir = join(repoRoot, 'schemas');
const policiesDir = join(repoRoot, 'policies');
const MODELINE = /^# yaml-language-server: \$schema=(\S+)\n/;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

const published = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as Record<string, unknown>;

/** Policy-repository files that hold documents (data/ holds free-form data, no kind). */
const exampleFiles = walk(policiesDir).filter(
  (file) => /\.ya?ml$/.test(file) && !file.startsWith('data/'),
);

/** The documents of a file as the compiler reads them (the same YAML parser and options). */
function documentsOf(file: string, text: string): unknown[] {
  const parsed = parseYamlFile(file, text);
  expect(parsed.errors, file).toEqual([]);
  return parsed.documents.map((document) => document.value);
}

const ajv = new Ajv2020({ allErrors: true, strict: false });

function validatorFor(kind: string) {
  const entry = DOCUMENT_KINDS.find((candidate) => candidate.kind === kind);
  if (!entry) throw new Error(`no published schema for kind ${kind}`);
  const schema = published(entry.schemaFile);
  return (
    ajv.getSchema(entry.schemaFile) ??
    (ajv.addSchema(schema, entry.schemaFile), ajv.getSchema(entry.schemaFile)!)
  );
}

describe('published JSON Schemas', () => {
  it('are the generated ones (after changing a zod schema, run npm run schemas)', () => {
    for (const entry of DOCUMENT_KINDS) {
      let committed: unknown;
      try {
        committed = published(entry.schemaFile);
      } catch {
        committed = `schemas/${entry.schemaFile} is missing`;
      }
      expect(
        committed,
        `schemas/${entry.schemaFile} is stale or missing: run npm run schemas`,
      ).toEqual(documentJsonSchema(entry));
    }
    const stray = walk(schemasDir).filter(
      (file) => !DOCUMENT_KINDS.some((entry) => entry.schemaFile === file),
    );
    expect(stray, 'schemas/ holds files no kind generates: run npm run schemas').toEqual([]);
  });

  it('cover every document kind the policy package declares', () => {
    // Each document schema of the package carries `kind: z.literal(...)`; a new kind must be
    // added to DOCUMENT_KINDS (source/document-kinds.ts) or it gets no published schema.
    const dir = join(repoRoot, 'packages/policy/src');
    const declared = walk(dir)
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
      .flatMap((file) => [
        ...readFileSync(join(dir, file), 'utf8').matchAll(/\bkind: z\.literal\('(\w+)'\)/g),
      ])
      .map((match) => match[1] as string);
    expect(declared.length).toBeGreaterThanOrEqual(3);
    expect([...new Set(declared)].sort()).toEqual(DOCUMENT_KINDS.map((e) => e.kind).sort());
    for (const entry of DOCUMENT_KINDS) expect(kindOfSchema(entry.schema)).toBe(entry.kind);
  });
});

describe('the example repository (policies/)', () => {
  it('still compiles with the modeline comments', () => {
    const result = compile(
      walk(policiesDir).map((path) => ({
        path,
        content: readFileSync(join(policiesDir, path), 'utf8'),
      })),
    );
    expect(result.errors).toEqual([]);
  });

  it.each(exampleFiles)(
    '%s names the schema of its kind on its first line, and passes it',
    (file) => {
      const text = readFileSync(join(policiesDir, file), 'utf8');
      const modeline = MODELINE.exec(text);
      expect(modeline, `${file} starts with # yaml-language-server: $schema=...`).not.toBeNull();
      const target = resolve(dirname(join(policiesDir, file)), modeline?.[1] as string);
      const documents = documentsOf(file, text) as { kind?: string }[];
      expect(documents.length).toBeGreaterThan(0);
      for (const document of documents) {
        const entry = DOCUMENT_KINDS.find((candidate) => candidate.kind === document.kind);
        expect(entry, `${file}: kind ${String(document.kind)}`).toBeDefined();
        expect(relative(repoRoot, target), `${file}: the modeline's schema`).toBe(
          `schemas/${entry?.schemaFile}`,
        );
        const validate = validatorFor(entry?.kind as string);
        expect(validate(document) ? [] : validate.errors, file).toEqual([]);
      }
    },
  );

  it('sees the example files (guards against a vacuous pass)', () => {
    expect(exampleFiles).toContain('stepgate.yaml');
    expect(exampleFiles.filter((file) => file.endsWith('.test.yaml')).length).toBeGreaterThan(3);
  });
});

describe('the schemas refuse broken files', () => {
  const file = 'cicd/production-deploys.yaml';
  const policy = documentsOf(file, readFileSync(join(policiesDir, file), 'utf8'))[0] as {
    rules: Record<string, unknown>[];
  } & Record<string, unknown>;
  const validate = validatorFor('Policy');
  const errorsOf = (document: unknown) => (validate(document) ? [] : (validate.errors ?? []));

  it('accepts the real policy it starts from', () => {
    expect(errorsOf(policy)).toEqual([]);
  });

  it('refuses an unknown field in a rule (a misspelt when:)', () => {
    const [first, ...rest] = policy.rules;
    const broken = { ...policy, rules: [{ ...first, whn: 'true' }, ...rest] };
    expect(errorsOf(broken)).toContainEqual(
      expect.objectContaining({
        instancePath: '/rules/0',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'whn' },
      }),
    );
  });

  it('refuses a wrong type and an unknown effect', () => {
    expect(errorsOf({ ...policy, rules: 'allow everything' })).toContainEqual(
      expect.objectContaining({ instancePath: '/rules', keyword: 'type' }),
    );
    const [first, ...rest] = policy.rules;
    expect(
      errorsOf({ ...policy, rules: [{ ...first, effect: 'permit' }, ...rest] }),
    ).toContainEqual(expect.objectContaining({ instancePath: '/rules/0/effect', keyword: 'enum' }));
  });

  it('refuses a duration without its unit pattern, accepts one with it', () => {
    const rule = { name: 'r', effect: 'step_up', require: { level: 'mfa', maxAge: '5 minutes' } };
    expect(errorsOf({ ...policy, rules: [rule] })).toContainEqual(
      expect.objectContaining({ instancePath: '/rules/0/require/maxAge', keyword: 'pattern' }),
    );
    const good = { ...rule, require: { level: 'mfa', maxAge: '1h30m' } };
    expect(errorsOf({ ...policy, rules: [good] })).toEqual([]);
  });
});
