/**
 * Test helper: validators for the schemas of openapi.yaml (OpenAPI 3.1 = JSON Schema 2020-12), so
 * tests check requests and responses against the document itself, not a copy of its rules.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

const doc = parse(readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8')) as {
  components: { schemas: Record<string, unknown> };
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'notify', components: doc.components });

export type SchemaName = 'NotificationRequest' | 'Accepted' | 'Error';

/** Errors of `value` against the named component schema; empty when valid. */
export function schemaErrors(name: SchemaName, value: unknown): string[] {
  const validate = ajv.getSchema(`notify#/components/schemas/${name}`);
  if (!validate) throw new Error(`openapi.yaml has no schema ${name}`);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** The response schema the document gives for a status of POST /v1/notifications. */
export function responseSchemaFor(status: number): SchemaName {
  return status === 202 ? 'Accepted' : 'Error';
}
