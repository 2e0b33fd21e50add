#!/usr/bin/env node
/**
 * `npm run schemas`: writes the JSON Schema of every policy-repository document kind to
 * schemas/ (generated from the zod schemas of @stepgate/policy, which must be built). Editors
 * with the YAML language server read them through the modeline at the top of each file.
 * test/workspace/json-schemas.spec.ts fails when a committed schema differs from this output.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { DOCUMENT_KINDS, documentJsonSchema } from '@stepgate/policy';

const dir = fileURLToPath(new URL('../schemas', import.meta.url));
await mkdir(dir, { recursive: true });
const wanted = new Set(DOCUMENT_KINDS.map((entry) => entry.schemaFile));
for (const file of await readdir(dir)) {
  if (file.endsWith('.schema.json') && !wanted.has(file)) await rm(join(dir, file));
}
for (const entry of DOCUMENT_KINDS) {
  const path = join(dir, entry.schemaFile);
  const options = (await prettier.resolveConfig(path)) ?? {};
  const text = await prettier.format(JSON.stringify(documentJsonSchema(entry)), {
    ...options,
    parser: 'json',
  });
  await writeFile(path, text);
  console.log(`wrote schemas/${entry.schemaFile} (kind ${entry.kind})`);
}
