/**
 * The control-plane admin API as the CLI sees it, with light run-time checks of the fields the
 * CLI relies on. The CLI does not depend on @stepgate/protocol's schemas (yet), so a response
 * that drifts from this contract is reported as `response/invalid` instead of printing garbage.
 */

export type VersionStatus = 'ready' | 'failed';

export interface Version {
  id: string;
  number: number;
  sha: string;
  branch: string;
  author: string;
  message: string;
  committedAt: string;
  createdAt: string;
  status: VersionStatus;
  bundleHash: string | null;
  size: number | null;
  forcePush: boolean;
  active: boolean;
  shadow: boolean;
  errorCount: number;
  tests: { passed: number; failed: number } | null;
}

export interface VersionError {
  code: string;
  message: string;
  file: string;
  line?: number | null;
  column?: number | null;
  policy?: string | null;
  rule?: string | null;
}

export interface VersionDetail extends Version {
  errors: VersionError[];
  testReport: unknown;
}

export interface VersionList {
  versions: Version[];
}

export interface ActivateResult {
  revision: number;
  activeVersion: Version;
}

export interface RollbackResult {
  revision: number;
  activeVersion: Version;
  from: Version | null;
}

export interface ShadowResult {
  revision: number;
  shadowVersion: Version;
}

export interface ShadowOffResult {
  revision: number;
}

export interface AuditEvent {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  reason: string | null;
  details: unknown;
}

export interface AuditList {
  events: AuditEvent[];
}

/** A response body that does not have the documented shape; `path` says where. */
export class ResponseShapeError extends Error {
  override readonly name = 'ResponseShapeError';
}

type Kind = 'string' | 'number' | 'boolean' | 'string?' | 'number?' | 'string|null' | 'number|null';
type Fields = Record<string, Kind>;

const VERSION_FIELDS: Fields = {
  id: 'string',
  number: 'number',
  sha: 'string',
  branch: 'string',
  author: 'string',
  message: 'string',
  committedAt: 'string',
  createdAt: 'string',
  status: 'string',
  bundleHash: 'string|null',
  size: 'number|null',
  forcePush: 'boolean',
  active: 'boolean',
  shadow: 'boolean',
  errorCount: 'number',
};

const VERSION_ERROR_FIELDS: Fields = {
  code: 'string',
  message: 'string',
  file: 'string',
  line: 'number?',
  column: 'number?',
  policy: 'string?',
  rule: 'string?',
};

const AUDIT_EVENT_FIELDS: Fields = {
  id: 'string',
  at: 'string',
  actor: 'string',
  action: 'string',
  target: 'string|null',
  reason: 'string|null',
};

export function readVersionList(body: unknown): VersionList {
  const list = record(body, 'response');
  array(list.versions, 'versions').forEach((item, i) => readVersion(item, `versions[${i}]`));
  return list as unknown as VersionList;
}

export function readVersionDetail(body: unknown): VersionDetail {
  const detail = readVersion(body, 'response');
  const errors = array((detail as unknown as Record<string, unknown>).errors, 'errors');
  errors.forEach((item, i) =>
    checkFields(record(item, `errors[${i}]`), VERSION_ERROR_FIELDS, `errors[${i}]`),
  );
  return detail as VersionDetail;
}

export function readActivateResult(body: unknown): ActivateResult {
  const result = record(body, 'response');
  checkFields(result, { revision: 'number' }, 'response');
  readVersion(result.activeVersion, 'activeVersion');
  return result as unknown as ActivateResult;
}

export function readRollbackResult(body: unknown): RollbackResult {
  const result = record(body, 'response');
  checkFields(result, { revision: 'number' }, 'response');
  readVersion(result.activeVersion, 'activeVersion');
  if (result.from !== null) readVersion(result.from, 'from');
  return result as unknown as RollbackResult;
}

export function readShadowResult(body: unknown): ShadowResult {
  const result = record(body, 'response');
  checkFields(result, { revision: 'number' }, 'response');
  readVersion(result.shadowVersion, 'shadowVersion');
  return result as unknown as ShadowResult;
}

export function readShadowOffResult(body: unknown): ShadowOffResult {
  const result = record(body, 'response');
  checkFields(result, { revision: 'number' }, 'response');
  return result as unknown as ShadowOffResult;
}

export function readAuditList(body: unknown): AuditList {
  const list = record(body, 'response');
  array(list.events, 'events').forEach((item, i) =>
    checkFields(record(item, `events[${i}]`), AUDIT_EVENT_FIELDS, `events[${i}]`),
  );
  return list as unknown as AuditList;
}

function readVersion(value: unknown, path: string): Version {
  const version = record(value, path);
  checkFields(version, VERSION_FIELDS, path);
  if (version.status !== 'ready' && version.status !== 'failed') {
    throw new ResponseShapeError(`${path}.status should be 'ready' or 'failed'`);
  }
  if (version.tests !== null) {
    checkFields(
      record(version.tests, `${path}.tests`),
      { passed: 'number', failed: 'number' },
      `${path}.tests`,
    );
  }
  return version as unknown as Version;
}

function checkFields(value: Record<string, unknown>, fields: Fields, path: string): void {
  for (const [key, kind] of Object.entries(fields)) {
    const field = value[key];
    const ok =
      kind === 'string|null' || kind === 'number|null'
        ? field === null || typeof field === kind.slice(0, -5)
        : kind.endsWith('?')
          ? field === undefined || field === null || typeof field === kind.slice(0, -1)
          : typeof field === kind;
    if (!ok) throw new ResponseShapeError(`${path}.${key} should be ${describeKind(kind)}`);
  }
}

function describeKind(kind: Kind): string {
  if (kind.endsWith('?')) return `a ${kind.slice(0, -1)} or absent`;
  return kind.endsWith('|null') ? `a ${kind.slice(0, -5)} or null` : `a ${kind}`;
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ResponseShapeError(`${path} should be an object`);
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ResponseShapeError(`${path} should be an array`);
  return value;
}
