import { invalidRequest, isObject } from './decision-input.js';

/**
 * Field readers for Kubernetes review bodies. Unknown fields are tolerated on purpose:
 * Kubernetes adds fields to AdmissionReview and SubjectAccessReview across minor releases
 * (`requestKind`, `options`, `fieldSelector`...), and refusing them would break the webhook
 * on a cluster upgrade. The fields a decision depends on are checked strictly, each error
 * naming the field and what was expected.
 */

/** A required non-empty string at `where`. */
export function requiredString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '')
    throw invalidRequest(`${where} must be a non-empty string`);
  return value;
}

/** An optional string (`null` counts as absent, as in Kubernetes' JSON). */
export function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`${where} must be a string`);
  return value;
}

export function optionalStrings(value: unknown, where: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw invalidRequest(`${where} must be a list of strings`);
  return value as string[];
}

/** `map[string][]string` (userInfo.extra, spec.extra). */
export function optionalExtra(value: unknown, where: string): Record<string, string[]> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidRequest(`${where} must be an object of string lists`);
  const extra: Record<string, string[]> = {};
  for (const [key, list] of Object.entries(value))
    extra[key] = optionalStrings(list, `${where}["${key}"]`) ?? [];
  return extra;
}

/** `map[string]string` (metadata.labels). */
export function optionalLabels(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidRequest(`${where} must be an object of strings`);
  for (const [key, label] of Object.entries(value))
    if (typeof label !== 'string') throw invalidRequest(`${where}["${key}"] must be a string`);
  return value as Record<string, string>;
}

/** An optional object (`null` counts as absent). */
export function optionalObjectField(
  value: unknown,
  where: string,
): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidRequest(`${where} must be an object`);
  return value;
}

/** The `apiVersion`/`kind` header every review has; names what was expected on mismatch. */
export function checkTypeMeta(
  body: unknown,
  kind: string,
  versions: readonly string[],
  hint: string,
): { apiVersion: string; body: Record<string, unknown> } {
  if (!isObject(body))
    throw invalidRequest(`the body must be a JSON object, the ${kind} (${versions.join(' or ')})`);
  if (body.kind !== kind)
    throw invalidRequest(
      `kind must be "${kind}", got ${JSON.stringify(body.kind ?? null)}; ${hint}`,
    );
  if (typeof body.apiVersion !== 'string' || !versions.includes(body.apiVersion))
    throw invalidRequest(
      `apiVersion must be ${versions.map((v) => `"${v}"`).join(' or ')}, got ${JSON.stringify(body.apiVersion ?? null)}; ${hint}`,
    );
  return { apiVersion: body.apiVersion, body };
}
