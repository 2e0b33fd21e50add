import { z } from 'zod';
import {
  entitiesDocumentSchema,
  policyDocumentSchema,
  ruleSchema,
  settingsDocumentSchema,
  testSuiteDocumentSchema,
} from './schemas.js';

/** One kind of document a policy repository holds, and the file its JSON Schema is published as. */
export interface DocumentKind {
  kind: string;
  /** File name under the repository's `schemas/` folder. */
  schemaFile: string;
  /** Where documents of the kind live, for the schema's description. */
  where: string;
  schema: z.ZodObject;
}

/**
 * Every document kind the compiler loads, in one list: the published JSON Schemas are generated
 * from it, and a workspace test fails when a kind's schema exists that is not listed here.
 */
export const DOCUMENT_KINDS: readonly DocumentKind[] = [
  {
    kind: 'Policy',
    schemaFile: 'policy.schema.json',
    where: 'any *.yaml file of the repository that is not a test, data or settings file',
    // The compiler validates rules one by one (so one bad rule does not hide the others);
    // the published schema shows the whole document, rules included.
    schema: policyDocumentSchema.extend({
      rules: z
        .array(ruleSchema)
        .min(1)
        .meta(policyDocumentSchema.shape.rules.meta() ?? {}),
    }),
  },
  {
    kind: 'TestSuite',
    schemaFile: 'test-suite.schema.json',
    where: 'files named *.test.yaml',
    schema: testSuiteDocumentSchema,
  },
  {
    kind: 'Settings',
    schemaFile: 'settings.schema.json',
    where: 'stepgate.yaml at the repository root',
    schema: settingsDocumentSchema,
  },
  {
    kind: 'Entities',
    schemaFile: 'entities.schema.json',
    where: 'any *.yaml file of the repository that is not a test, data or settings file',
    schema: entitiesDocumentSchema,
  },
];

/** The kind a document schema accepts (its `kind` literal). */
export function kindOfSchema(schema: z.ZodObject): string {
  const kind = schema.shape.kind;
  if (!(kind instanceof z.ZodLiteral)) throw new Error('a document schema has a literal kind');
  return String(kind.value);
}

/**
 * The JSON Schema (2020-12) of a document kind, for editors (the YAML language server) and CI.
 * Zod stays the source of truth; timestamps, which a YAML parser may hand over as dates, are
 * strings here.
 */
export function documentJsonSchema(entry: DocumentKind): Record<string, unknown> {
  const schema = z.toJSONSchema(
    entry.schema.meta({
      title: `Stepgate ${entry.kind}`,
      description: `A stepgate/v1 ${entry.kind} document (${entry.where}). Generated from the zod schemas of @stepgate/policy; do not edit.`,
    }),
    {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
      override: (context) => {
        if (context.zodSchema._zod.def.type === 'date') {
          context.jsonSchema.type = 'string';
          context.jsonSchema.format = 'date-time';
        }
      },
    },
  );
  return schema as Record<string, unknown>;
}
