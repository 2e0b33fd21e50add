import { Inject, Injectable } from '@nestjs/common';
import {
  shownDataSourceUrl,
  validateLiveDocument,
  type DataSourceDeclaration,
  type LiveDataDeclaration,
  type Settings,
} from '@stepgate/policy';
import {
  StepgateError,
  type LiveDataHistoryQuery,
  type LiveDataHistoryResponse,
  type LiveDataListResponse,
  type LiveDataWriteResponse,
  type LiveDocumentResponse,
  type LiveDocumentSummary,
} from '@stepgate/protocol';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { LOGGER } from '../logging/logger.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { applyMergePatch, changedPaths, isJsonObject, pointerToken } from './json-merge.js';
import { LiveDataEvents } from './live-data.events.js';
import { validationDetails } from './write-request.js';
import {
  LiveDataRepository,
  type LiveDataOp,
  type PlannedWrite,
  type StoredDocument,
} from './live-data.repository.js';

/** What agents hold: one data revision and the value of every declared document. */
export interface LiveDataSnapshot {
  revision: number;
  documents: Record<string, unknown>;
}

/** One write through the admin API. */
export interface LiveDataWrite {
  name: string;
  op: LiveDataOp;
  /** A key write (`/v1/data/<name>/<key>`) on an object document. */
  key?: string;
  /** PUT: the new value (of the document or the key); PATCH: the merge patch. */
  body?: unknown;
  actor: string;
  reason: string;
  /**
   * Set by the data-source poller only: a write of a document that a data source feeds. Every
   * other write of such a document is refused (the next fetch would overwrite it).
   */
  fromDataSource?: boolean;
  /** Leave the document (and the data revision) alone when the value would not change. */
  skipUnchanged?: boolean;
}

/** Thrown inside a write's transaction to roll it back when nothing would change. */
class UnchangedWrite extends Error {}

/** The documents the active version declares (empty while none is active). */
interface Declared {
  versionId: string | null;
  versionNumber: number | null;
  settings: Settings;
  documents: Record<string, LiveDataDeclaration>;
}

/** Before/after values larger than this (as JSON) are left out of the audit row (history keeps them). */
const AUDIT_VALUE_BYTES = 64 * 1024;

/**
 * Live data: documents declared by the active version (`liveData:` in stepgate.yaml), written
 * through the admin API with a reason, validated against their JSON Schema, audited, and
 * versioned by one data revision. What agents receive comes from `snapshot()` and
 * `changesSince()`; every committed write emits `live-data.changed` (LiveDataEvents).
 *
 * The active version decides what exists: a document it does not declare is neither served nor
 * written (its rows stay, with their history).
 */
@Injectable()
export class LiveDataService {
  private declaredCache?: { versionId: string | null; declared: Promise<Declared> };
  /** Whether a stored value passes the active schema, by version, document and revision. */
  private readonly validity = new Map<string, boolean>();

  constructor(
    private readonly repository: LiveDataRepository,
    private readonly liveState: LiveStateRepository,
    private readonly versions: VersionsRepository,
    private readonly audit: AuditService,
    private readonly events: LiveDataEvents,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The data sources the active version declares (none while no version is active). */
  async dataSources(): Promise<DataSourceDeclaration[]> {
    return (await this.declared()).settings.dataSources ?? [];
  }

  /** Every declared document's value at the current data revision. */
  async snapshot(): Promise<LiveDataSnapshot> {
    const declared = await this.declared();
    const names = Object.keys(declared.documents);
    const { revision, rows } = await this.repository.documents(names);
    const stored = new Map(rows.map((row) => [row.name, row]));
    const documents: Record<string, unknown> = {};
    for (const name of names)
      documents[name] = this.valueOf(declared, name, stored.get(name) ?? null);
    return { revision, documents };
  }

  /**
   * The current value of every declared document written after `revision` (a document reset
   * to its default reads as the default), or `too_old` when `revision` is not one this control
   * plane has issued (ahead of it: another database, a restored backup), so a snapshot is due.
   */
  async changesSince(revision: number): Promise<LiveDataSnapshot | 'too_old'> {
    if (!Number.isSafeInteger(revision) || revision < 0) return 'too_old';
    const declared = await this.declared();
    const changed = await this.repository.changedSince(revision);
    if (revision > changed.revision) return 'too_old';
    const names = changed.names.filter((name) => Object.hasOwn(declared.documents, name));
    const { rows } = await this.repository.documents(names);
    const stored = new Map(rows.map((row) => [row.name, row]));
    const documents: Record<string, unknown> = {};
    for (const name of names)
      documents[name] = this.valueOf(declared, name, stored.get(name) ?? null);
    return { revision: changed.revision, documents };
  }

  async list(): Promise<LiveDataListResponse> {
    const declared = await this.declared();
    const names = Object.keys(declared.documents).sort();
    const { revision, rows } = await this.repository.documents(names);
    const stored = new Map(rows.map((row) => [row.name, row]));
    return {
      revision,
      versionNumber: declared.versionNumber,
      documents: names.map((name) => this.summary(declared, name, stored.get(name) ?? null)),
    };
  }

  async get(name: string): Promise<LiveDocumentResponse> {
    const declared = await this.declared();
    this.declaration(declared, name);
    const { revision, rows } = await this.repository.documents([name]);
    const row = rows[0] ?? null;
    return {
      ...this.summary(declared, name, row),
      value: this.valueOf(declared, name, row),
      dataRevision: revision,
    };
  }

  /** A document's writes, newest first; readable while any remain, declared or not. */
  async history(name: string, query: LiveDataHistoryQuery): Promise<LiveDataHistoryResponse> {
    const rows = await this.repository.history(name, query.limit + 1, query.before);
    if (rows.length === 0 && query.before === undefined)
      this.declaration(await this.declared(), name);
    const page = rows.slice(0, query.limit);
    return {
      changes: page.map((row) => ({
        revision: row.revision,
        name: row.name,
        key: row.key,
        op: row.op,
        before: row.before,
        after: row.after,
        changed: row.changed,
        actor: row.actor,
        reason: row.reason,
        at: row.at.toISOString(),
      })),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.revision ?? null) : null,
    };
  }

  /**
   * Validates and applies one write at the next data revision, with its history and audit
   * rows, then announces it. A refused write changes nothing, the revision included.
   */
  async write(request: LiveDataWrite): Promise<LiveDataWriteResponse> {
    const declared = await this.declared();
    const declaration = this.declaration(declared, request.name);
    const source = declared.settings.dataSources?.find((s) => s.name === request.name);
    if (source !== undefined && request.fromDataSource !== true)
      throw new StepgateError(
        'data/fed_by_source',
        `live data "${request.name}" is fed by a data source (${shownDataSourceUrl(source.url)}, every ${source.every}s in stepgate.yaml dataSources): its next fetch would overwrite this write, so it is refused; change what the source serves, or remove the source from dataSources`,
      );
    const planOrSkip = (current: StoredDocument | null): PlannedWrite => {
      const planned = this.plan(declared, declaration, request, current);
      if (request.skipUnchanged === true && planned.changed.length === 0)
        throw new UnchangedWrite();
      return planned;
    };
    let applied;
    try {
      applied = await this.repository.write(
        request.name,
        request.actor,
        request.reason,
        planOrSkip,
        (tx, write) =>
          this.audit.record(
            {
              actor: request.actor,
              action: `data.${write.op}`,
              target: `data/${request.name}${write.key === null ? '' : `/${pointerToken(write.key)}`}`,
              reason: request.reason,
              details: {
                revision: write.revision,
                ...(write.key === null ? {} : { key: write.key }),
                changed: write.changed,
                ...auditValue('before', write.before),
                ...auditValue('after', write.after),
              },
            },
            tx,
          ),
      );
    } catch (error) {
      if (!(error instanceof UnchangedWrite)) throw error;
      const { revision, rows } = await this.repository.documents([request.name]);
      const value = this.valueOf(declared, request.name, rows[0] ?? null);
      return { revision, name: request.name, value, changed: [] };
    }
    this.events.emitChanged({ revision: applied.revision, names: [request.name] });
    return {
      revision: applied.revision,
      name: request.name,
      value: applied.after,
      changed: applied.changed,
    };
  }

  private plan(
    declared: Declared,
    declaration: LiveDataDeclaration,
    request: LiveDataWrite,
    current: StoredDocument | null,
  ): PlannedWrite {
    const before = this.valueOf(declared, request.name, current);
    const key = request.key ?? null;
    let after: unknown;
    if (key !== null) {
      if (!isJsonObject(before))
        throw new StepgateError(
          'data/not_an_object',
          `live data "${request.name}" is ${describe(before)}, not an object: write it whole (PUT /v1/data/${request.name}) instead of by key`,
        );
      const next: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(before))
        if (k !== key)
          Object.defineProperty(next, k, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          });
      if (request.op === 'put')
        Object.defineProperty(next, key, {
          value: request.body,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      after = next;
    } else if (request.op === 'delete') {
      after = declaration.default;
    } else if (request.op === 'patch') {
      after = applyMergePatch(before, request.body);
    } else {
      after = request.body;
    }
    const reset = key === null && request.op === 'delete';
    if (!reset) {
      const errors = validateLiveDocument(declared.settings, request.name, after);
      if (errors.length > 0)
        throw new StepgateError(
          'data/invalid',
          `the ${request.op === 'patch' ? 'patched ' : ''}value of live data "${request.name}" does not match its JSON Schema: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}; nothing was changed`,
          validationDetails(errors),
        );
    }
    return { op: request.op, key, before, after, reset, changed: changedPaths(before, after) };
  }

  private summary(
    declared: Declared,
    name: string,
    row: StoredDocument | null,
  ): LiveDocumentSummary {
    const declaration = declared.documents[name] as LiveDataDeclaration;
    const usable = row !== null && this.storedIsValid(declared, name, row);
    return {
      name,
      schema: declaration.schema,
      default: declaration.default,
      isDefault: !usable,
      revision: row?.revision ?? null,
      updatedAt: row?.updatedAt.toISOString() ?? null,
      updatedBy: row?.updatedBy ?? null,
    };
  }

  /**
   * The value a declared document has: the stored one, or its default when never written. A
   * stored value the active schema refuses (written under an earlier version's schema) is not
   * served: the default is, until someone writes a valid one.
   */
  private valueOf(declared: Declared, name: string, row: StoredDocument | null): unknown {
    const declaration = declared.documents[name] as LiveDataDeclaration;
    if (row === null || !this.storedIsValid(declared, name, row)) return declaration.default;
    return row.value;
  }

  private storedIsValid(declared: Declared, name: string, row: StoredDocument): boolean {
    const cacheKey = `${declared.versionId}:${name}:${row.revision}`;
    let valid = this.validity.get(cacheKey);
    if (valid === undefined) {
      const errors = validateLiveDocument(declared.settings, name, row.value);
      valid = errors.length === 0;
      if (!valid)
        this.logger.warn(
          { name, revision: row.revision, version: declared.versionNumber, error: errors[0] },
          'stored live data does not match the schema the active version declares; serving its default',
        );
      if (this.validity.size > 10_000) this.validity.clear();
      this.validity.set(cacheKey, valid);
    }
    return valid;
  }

  private declaration(declared: Declared, name: string): LiveDataDeclaration {
    const declaration = Object.hasOwn(declared.documents, name)
      ? declared.documents[name]
      : undefined;
    if (!declaration) {
      const names = Object.keys(declared.documents).sort();
      throw new StepgateError(
        'data/not_found',
        declared.versionNumber === null
          ? `no live data "${name}": no policy version is active yet`
          : `no live data "${name}": the active version (${declared.versionNumber}) declares ${names.length === 0 ? 'no live data' : names.map((n) => `"${n}"`).join(', ')}; declare it under liveData: in stepgate.yaml`,
      );
    }
    return declaration;
  }

  /** The active version's declarations, read once per active version. */
  private async declared(): Promise<Declared> {
    const { activeVersionId } = await this.liveState.current();
    if (this.declaredCache?.versionId !== activeVersionId) {
      const declared = this.load(activeVersionId);
      this.declaredCache = { versionId: activeVersionId, declared };
      declared.catch(() => {
        if (this.declaredCache?.declared === declared) this.declaredCache = undefined;
      });
    }
    return this.declaredCache.declared;
  }

  private async load(versionId: string | null): Promise<Declared> {
    if (versionId === null)
      return { versionId, versionNumber: null, settings: NO_SETTINGS, documents: {} };
    const version = await this.versions.get(versionId);
    const settings = (version.policySet as { settings?: Settings } | null)?.settings ?? NO_SETTINGS;
    return {
      versionId,
      versionNumber: version.number,
      settings,
      documents: settings.liveData ?? {},
    };
  }
}

const NO_SETTINGS: Settings = {
  defaultEffect: 'deny',
  onError: 'deny',
  levels: [],
  issuers: [],
  mask: [],
};

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

function auditValue(label: 'before' | 'after', value: unknown): Record<string, unknown> {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? 'null');
  return bytes <= AUDIT_VALUE_BYTES
    ? { [label]: value }
    : {
        [`${label}Bytes`]: bytes,
        [`${label}Omitted`]: 'too large for the audit log: see GET /v1/data/<name>/history',
      };
}
